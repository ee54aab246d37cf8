/**
 * Errors a user can act on. The CLI prints `message` as one line and exits with `exitCode`:
 * 2 when the input or options are wrong, 1 when the work itself failed.
 * Anything else that escapes is a bug and is reported as such (stack only under --verbose).
 */
export class CnnvizError extends Error {
  constructor(
    message: string,
    readonly exitCode: 1 | 2 = 1,
  ) {
    super(message);
    this.name = 'CnnvizError';
  }
}

/** The user asked for something that cannot be: a bad option, layer, file or count. */
export function usageError(message: string): CnnvizError {
  return new CnnvizError(message, 2);
}

/** Something failed while doing valid work: network, disk, a corrupt file. */
export function runtimeError(message: string): CnnvizError {
  return new CnnvizError(message, 1);
}

/** The message of anything thrown, for wrapping library errors into one line. */
export function messageOf(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n')[0].trim();
}
