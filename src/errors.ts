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

/** The reason a file-system call failed, in words (the code in brackets for searching). */
export function fileSystemReason(err: unknown): string {
  const code = (err as { code?: string }).code;
  const words: Record<string, string> = {
    ENOSPC: 'no space left on the device',
    EDQUOT: 'disk quota exceeded',
    EROFS: 'the file system is read-only',
    EACCES: 'permission denied',
    EPERM: 'operation not permitted (an immutable or protected file or folder?)',
    ENOENT: 'no such file or folder',
    ENOTDIR: 'a part of the path is a file, not a folder',
    EEXIST: 'a file of that name is in the way',
    EISDIR: 'it is a folder',
    EMFILE: 'too many open files',
  };
  return code && words[code] ? `${words[code]} (${code})` : messageOf(err);
}

/** True for the failures that stop a whole run: the device is full. */
export const isDiskFull = (err: unknown): boolean =>
  ['ENOSPC', 'EDQUOT'].includes((err as { code?: string }).code ?? '');
