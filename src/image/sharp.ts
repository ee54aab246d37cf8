/**
 * sharp, loaded when first needed (its native module costs start-up) and kept: a caller that
 * finds it loaded calls it at once. Awaiting the import every time would hold each call back a
 * turn of the event loop: a run's five mosaics were all drawn before the first began encoding,
 * instead of each encoding on sharp's threads beside the drawing of the next.
 */
type Sharp = typeof import('sharp').default;

let loaded: Sharp | undefined;

/** sharp itself: at once when loaded, else after loading it. */
export async function loadSharp(): Promise<Sharp> {
  return (loaded ??= (await import('sharp')).default);
}

/** sharp if it is loaded already, for work that should start before the caller's next await. */
export const loadedSharp = (): Sharp | undefined => loaded;
