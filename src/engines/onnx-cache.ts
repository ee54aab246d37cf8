/**
 * Prepared ONNX models kept on disk. The first run translates the Keras weights and lets ONNX
 * Runtime optimise the graph (its NCHWc convolution layout is most of the set-up time); it
 * saves the optimised graph with its weights in a separate file. Later runs with the same
 * weights and layers open that: the weights are memory-mapped and nothing is optimised again,
 * which turns about 0.9 s of set-up into 0.05 s. The optimised form fits the processor it was
 * made on, so the key names the processor along with everything the translation depends on.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { open, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { arch, cpus } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { makeFolder } from '../folders.js';
import { removeDeadTemps, tempPathFor, trackTemp, untrackTemp } from '../temp-files.js';

/** A few models: VGG16's convolutional base takes 59 MB. */
export const MAX_CACHED_MODELS = 4;
export const MODEL_FILE = 'model.onnx';
export const WEIGHTS_FILE = 'weights.bin';

export function onnxCacheKey(parts: Record<string, unknown>): string {
  const machine = { arch: arch(), cpu: cpus()[0]?.model ?? 'unknown' };
  return createHash('sha256')
    .update(JSON.stringify({ ...parts, machine }))
    .digest('hex')
    .slice(0, 32);
}

/** Each file of an entry as it was written: what a later run checks before trusting it. */
const MANIFEST = 'entry.json';
type Manifest = Record<string, { size: number; mtimeMs: number; crc32: number }>;

/** CRC-32 of a file, read through one reusable buffer (a 100 MB weights file in about 60 ms). */
async function crc32Of(path: string): Promise<number> {
  const handle = await open(path, 'r');
  const buffer = Buffer.allocUnsafe(4 << 20);
  let crc = 0;
  try {
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) return crc;
      crc = crc32(buffer.subarray(0, bytesRead), crc);
    }
  } finally {
    await handle.close();
  }
}

async function describeFiles(folder: string): Promise<Manifest> {
  const manifest: Manifest = {};
  for (const name of [MODEL_FILE, WEIGHTS_FILE]) {
    const { size, mtimeMs } = await stat(join(folder, name));
    manifest[name] = { size, mtimeMs, crc32: await crc32Of(join(folder, name)) };
  }
  return manifest;
}

/**
 * What is wrong with an entry, or undefined when it can be trusted. Sizes are checked on every
 * run; the checksums whenever a file's modification time differs from the manifest's (so warm
 * runs read nothing, and a file changed in place is caught).
 */
async function entryProblem(folder: string): Promise<string | undefined> {
  let manifest: Manifest;
  try {
    manifest = JSON.parse(await readFile(join(folder, MANIFEST), 'utf8'));
  } catch {
    return 'it has no readable checksums';
  }
  let touched = false;
  for (const name of [MODEL_FILE, WEIGHTS_FILE]) {
    const expected = manifest[name];
    const found = await stat(join(folder, name)).catch(() => undefined);
    if (!expected || !found) return `${name} is missing`;
    if (found.size !== expected.size) return `${name} has ${found.size} bytes, not ${expected.size}`;
    if (found.mtimeMs === expected.mtimeMs) continue;
    if ((await crc32Of(join(folder, name))) !== expected.crc32) return `${name} does not match its checksum`;
    manifest[name] = { ...expected, mtimeMs: found.mtimeMs };
    touched = true;
  }
  if (touched) await writeFile(join(folder, MANIFEST), JSON.stringify(manifest)).catch(() => undefined);
  return undefined;
}

export type CacheLookup = { model: string } | { damaged: string } | undefined;

/**
 * The cached model file, if there is one and its files check out (its folder's time is
 * touched, so pruning keeps it); a damaged entry is removed and its problem returned.
 */
export async function findCachedOnnx(dir: string, key: string): Promise<CacheLookup> {
  const folder = join(dir, key);
  if (!existsSync(folder)) return undefined;
  const problem = await entryProblem(folder);
  if (problem) {
    await removeEntry(dir, key);
    return { damaged: problem };
  }
  const now = new Date();
  await utimes(folder, now, now).catch(() => undefined);
  return { model: join(folder, MODEL_FILE) };
}

/** Removes an entry (one ONNX Runtime could not load, say) so that the next run rebuilds it. */
export async function removeEntry(dir: string, key: string): Promise<void> {
  await rm(join(dir, key), { recursive: true, force: true });
}

/**
 * A private folder for ONNX Runtime to write the optimised model into; `commit` records the
 * files' checksums and moves the folder to its place in one rename (a reader never sees half
 * an entry), then prunes old entries and what dead runs left.
 */
export async function reserveCacheEntry(
  dir: string,
  key: string,
): Promise<{ folder: string; commit(): Promise<void>; abandon(): Promise<void> }> {
  const folder = tempPathFor(join(dir, key));
  await makeFolder(folder);
  trackTemp(folder);
  return {
    folder,
    async commit() {
      try {
        await writeFile(join(folder, MANIFEST), JSON.stringify(await describeFiles(folder)));
        await rename(folder, join(dir, key));
      } catch {
        await rm(folder, { recursive: true, force: true }); // another run stored it first
      }
      untrackTemp(folder);
      await prune(dir);
    },
    async abandon() {
      await rm(folder, { recursive: true, force: true });
      untrackTemp(folder);
    },
  };
}

async function prune(dir: string, keep = MAX_CACHED_MODELS): Promise<void> {
  // Folders a killed run left half-written: its process is gone.
  await removeDeadTemps(dir, 0);
  await keepNewest(dir, keep, (name) => /^[0-9a-f]{32}$/.test(name));
}

/** Removes all but the `keep` most recently used entries of a cache folder that `isEntry` names. */
export async function keepNewest(dir: string, keep: number, isEntry: (name: string) => boolean): Promise<void> {
  const entries = (await readdir(dir)).filter(isEntry);
  const dated = await Promise.all(entries.map(async (name) => ({ name, time: (await stat(join(dir, name))).mtimeMs })));
  dated.sort((a, b) => b.time - a.time);
  await Promise.all(dated.slice(keep).map((e) => rm(join(dir, e.name), { recursive: true, force: true })));
}
