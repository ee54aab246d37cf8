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
import { mkdir, readdir, rename, rm, stat, utimes } from 'node:fs/promises';
import { arch, cpus } from 'node:os';
import { join } from 'node:path';
import { trackTemp, untrackTemp } from '../temp-files.js';

/** A few models: VGG16's convolutional base takes 59 MB. */
export const MAX_CACHED_MODELS = 4;
export const MODEL_FILE = 'model.onnx';
export const WEIGHTS_FILE = 'weights.bin';

export function onnxCacheKey(parts: Record<string, unknown>): string {
  const machine = { arch: arch(), cpu: cpus()[0]?.model ?? 'unknown' };
  return createHash('sha256').update(JSON.stringify({ ...parts, machine })).digest('hex').slice(0, 32);
}

/** The cached model file, if there is one (its folder's time is touched, so pruning keeps it). */
export async function findCachedOnnx(dir: string, key: string): Promise<string | undefined> {
  const model = join(dir, key, MODEL_FILE);
  if (!existsSync(model) || !existsSync(join(dir, key, WEIGHTS_FILE))) return undefined;
  const now = new Date();
  await utimes(join(dir, key), now, now).catch(() => undefined);
  return model;
}

/**
 * A private folder for ONNX Runtime to write the optimised model into; `commit` moves it to
 * its place in one rename (a reader never sees half an entry) and prunes old entries.
 */
export async function reserveCacheEntry(dir: string, key: string): Promise<{ folder: string; commit(): Promise<void>; abandon(): Promise<void> }> {
  const folder = join(dir, `${key}.${process.pid}.tmp`);
  await mkdir(folder, { recursive: true });
  trackTemp(folder);
  return {
    folder,
    async commit() {
      try {
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
  const names = await readdir(dir);
  // Folders a killed run left half-written: gone after an hour (a live one finishes in seconds).
  const stale = await Promise.all(names.filter((n) => n.endsWith('.tmp')).map(async (n) => ({ n, time: (await stat(join(dir, n))).mtimeMs })));
  await Promise.all(stale.filter((s) => Date.now() - s.time > 3_600_000).map((s) => rm(join(dir, s.n), { recursive: true, force: true })));
  const entries = names.filter((name) => /^[0-9a-f]{32}$/.test(name));
  const dated = await Promise.all(entries.map(async (name) => ({ name, time: (await stat(join(dir, name))).mtimeMs })));
  dated.sort((a, b) => b.time - a.time);
  await Promise.all(dated.slice(keep).map((e) => rm(join(dir, e.name), { recursive: true, force: true })));
}
