/**
 * Model files' JSON (Keras configs of every version, graph-model attributes) as read: untyped
 * on purpose, since their shapes vary across Keras and converter versions. Readers narrow what
 * they take from it, and schemas check what must be trusted; this alias is the one place `any`
 * is allowed, so that every use says what it stands for.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see above
export type Json = any;
