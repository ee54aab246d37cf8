/**
 * Making folders with the real reason when it fails: Node's recursive mkdir says ENOENT for a
 * read-only or unwritable parent, where making the first missing folder on its own says EROFS
 * or EACCES.
 */
import { mkdir, rm, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

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
  while (dirname(missing) !== missing && !(await stat(dirname(missing)).catch(() => undefined))) missing = dirname(missing);
  return mkdir(missing).then(
    () => rm(missing, { recursive: true }).then(() => err),
    (cause) => cause,
  );
}
