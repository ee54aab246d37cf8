/** Schemas' complaints as one line: where in the file, and what is wrong there. */
import type { z } from 'zod';

/** "[2].weights[0].shape[1]: Too small: expected number to be >=0": the first complaint, with its place. */
export function schemaProblem(error: z.ZodError): string {
  const issue = error.issues[0];
  const at = issue.path
    .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
    .join('')
    .replace(/^\./, '');
  return `${at ? `${at}: ` : ''}${issue.message}`;
}
