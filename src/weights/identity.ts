/** What identifies the version of files a cached thing was made from (weights, model files). */
import { realpath, stat } from 'node:fs/promises';

/** The files a cache entry was made from, as a key part: a changed file (size or time) misses. */
export async function fileIdentity(paths: string[]): Promise<string> {
  const stats = await Promise.all(
    paths.map(async (p) => ({
      path: await realpath(p),
      ...(({ size, mtimeMs }) => ({ size, mtimeMs }))(await stat(p)),
    })),
  );
  return JSON.stringify(stats);
}
