/**
 * Folders: making them with the real reason when it fails, and telling whether a path a file
 * names stays inside the folder it belongs to.
 *
 * Making folders with the real reason when it fails: Node's recursive mkdir says ENOENT for a
 * read-only or unwritable parent, where making the first missing folder on its own says EROFS
 * or EACCES.
 */
import { realpathSync } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';

export async function makeFolder(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
  } catch (err) {
    throw await realCause(dir, err);
  }
}

async function realCause(dir: string, err: unknown): Promise<unknown> {
  if ((err as { code?: string }).code !== 'ENOENT') return err;
  let missing = resolve(dir);
  while (dirname(missing) !== missing && !(await stat(dirname(missing)).catch(() => undefined)))
    missing = dirname(missing);
  return mkdir(missing).then(
    () => rm(missing, { recursive: true }).then(() => err),
    (cause) => cause,
  );
}

/**
 * `name` (relative, as a file names another) resolved in `folder`, when it stays inside it:
 * no absolute path, no '..' out, not the folder itself. Undefined otherwise. Lexical only.
 */
export function pathInside(folder: string, name: string): string | undefined {
  if (isAbsolute(name)) return undefined;
  const base = resolve(folder);
  const path = resolve(base, name);
  return isBelow(base, path) ? path : undefined;
}

/** True when `path` lies strictly below `folder` (both absolute). */
function isBelow(folder: string, path: string): boolean {
  const rel = relative(folder, path);
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}

/**
 * A file a model names (a weight shard, an ONNX tensor's external data) resolved inside the
 * model's folder, symbolic links followed: a link pointing out of the folder is outside too.
 * Undefined when it escapes; a missing file resolves as named (reading it then says so).
 */
export function fileInside(folder: string, name: string): string | undefined {
  const path = pathInside(folder, name);
  if (!path) return undefined;
  let real: string;
  try {
    real = realpathSync(path);
  } catch {
    return path;
  }
  return isBelow(realpathSync(folder), real) ? path : undefined;
}
