/**
 * Checking files against schemas (zod): where in the file, and what is wrong there, as one line.
 * zod loads only when a file is checked: at start-up it would cost about 40 ms of every run
 * (a Keras summary took 0.19 s against 0.14 s with it loaded).
 */
import type { z } from 'zod';

type Zod = (typeof import('zod'))['z'];

/** A schema made on first use, with zod loaded then. */
export function lazySchema<T>(make: (zod: Zod) => z.ZodType<T>): () => Promise<z.ZodType<T>> {
  let made: Promise<z.ZodType<T>> | undefined;
  return () => (made ??= import('zod').then(({ z }) => make(z)));
}

/** "[2].weights[0].shape[1]: Too small: expected number to be >=0": the first complaint, with its place. */
export function schemaProblem(error: z.ZodError): string {
  const issue = error.issues[0];
  const at = issue.path
    .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
    .join('')
    .replace(/^\./, '');
  return `${at ? `${at}: ` : ''}${issue.message}`;
}
