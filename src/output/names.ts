/**
 * The names of output files: layer names made safe for file names, and one distinct stem per
 * input image, however the inputs' names collide.
 */
import { createHash } from 'node:crypto';
import { basename, dirname, extname, resolve, sep } from 'node:path';

/** Characters of a name kept in a file name; a longer name keeps its start and a hash of the whole. */
const MAX_NAME = 96;

/**
 * A layer name as part of a file name: ONNX node names ('/layer1/layer1.0/relu/Relu') hold
 * slashes, and graph models' names can run past what a file system takes (255 bytes), so a
 * long one is cut and told apart by a hash; the full name stays in the PNG's caption and JSON.
 */
export function fileSafe(name: string): string {
  const safe = name.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[_.]+|_+$/g, '') || 'layer';
  if (safe.length <= MAX_NAME) return safe;
  return `${safe.slice(0, MAX_NAME - 9)}-${createHash('sha256').update(name).digest('hex').slice(0, 8)}`;
}

/**
 * A distinct stem per image: the file name without its extension where that is unique; where
 * names collide (a.jpg, a.png, x/a.jpg, y/a.jpg), the extension and then the parent folders
 * are added, one step at a time, until every stem is unique. The same inputs give the same
 * stems, so a rerun of a batch finds its pictures.
 */
export function imageStems(paths: string[]): string[] {
  // Folders are named from below what all inputs share (photos/x/a.jpg: x).
  const dirs = paths.map((path) => resolve(dirname(path)).split(sep));
  let shared = 0;
  while (dirs.every((d) => shared < d.length && d[shared] === dirs[0][shared])) shared++;
  const choices = paths.map((path, i) => {
    const ext = extname(path);
    const stem = fileSafe(basename(path, ext));
    const withExt = ext ? `${stem}-${fileSafe(ext.slice(1).toLowerCase())}` : stem;
    const folders = dirs[i].slice(shared).filter(Boolean).map(fileSafe).reverse();
    return [stem, withExt, ...folders.map((_, i) => [...folders.slice(0, i + 1).reverse(), withExt].join('_'))];
  });
  const level = paths.map(() => 0);
  const names = () => choices.map((c, i) => c[Math.min(level[i], c.length - 1)]);
  for (let round = 0; round < 64; round++) {
    const current = names();
    const counts = new Map<string, number>();
    current.forEach((n) => counts.set(n, (counts.get(n) ?? 0) + 1));
    const clashing = current
      .map((n, i) => (counts.get(n)! > 1 && level[i] < choices[i].length - 1 ? i : -1))
      .filter((i) => i >= 0);
    if (clashing.length === 0) break;
    clashing.forEach((i) => level[i]++);
  }
  // Names the same even with every folder (a path given twice): numbered, in order.
  const seen = new Map<string, number>();
  return names().map((n) => {
    const k = (seen.get(n) ?? 0) + 1;
    seen.set(n, k);
    return k === 1 ? n : `${n}-${k}`;
  });
}
