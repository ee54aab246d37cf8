/**
 * Dataset examples, the state half: what a run has found so far, saved atomically every few
 * images so that a rerun continues, and what shards leave for `--merge`. A state says what it
 * was made with (settings, the image list's digest, the shard), so that a rerun with other
 * arguments starts over and a merge refuses shards that do not belong together.
 */
import { createHash } from 'node:crypto';
import { lstat, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runtimeError, usageError } from '../../errors.js';
import { writeFileAtomic, writeFileAtomicSync } from '../../output/files.js';
import { parseStateFile, shardSlice, type ExamplesSettings } from './schema.js';
import { mergeTop, type Example } from './scores.js';

export { shardSlice };

export type { ExamplesSettings } from './schema.js';

export interface Shard {
  index: number;
  count: number;
}

/** An image's pixels and the hash of its bytes, as scored: what its examples' boxes and tiles were cut from. */
export interface SourceImage {
  width: number;
  height: number;
  sha256: string;
}

export interface ExamplesState {
  version: 2;
  settings: ExamplesSettings;
  /** The whole image list (every shard's): its digest and length. */
  list: { digest: string; count: number };
  shard: Shard | null;
  /** This run's part of the list: [start, end). */
  slice: [number, number];
  /** Images of the slice gone through, scored or failed. */
  done: number;
  scored: number;
  /** `path: reason` of each image that could not be read. */
  failed: string[];
  complete: boolean;
  /** Per chosen channel, in settings.channels order: the examples, strongest first. */
  examples: Example[][];
  /** [bytes, mtimeMs] of each image gone through, in list order ([-1, -1]: unreadable): a changed one is scored again. */
  stamps: Array<[number, number]>;
  /** The examples' images (only those): their size and the hash of their bytes. */
  sources: Record<string, SourceImage>;
}

export const STATE_FILE = 'state.json';
/** Where a shard keeps its examples' tiles for the merge. */
export const SOURCES_FOLDER = 'sources';

export const listDigest = (paths: string[]): string => createHash('sha256').update(paths.join('\n')).digest('hex');

/** `--shard i/n`, i counted from 0. */
export function parseShard(value: string): Shard {
  const match = /^(\d+)\/(\d+)$/.exec(value.trim());
  const [index, count] = match ? [Number(match[1]), Number(match[2])] : [NaN, NaN];
  if (!(count >= 1)) throw usageError(`--shard ${value}: expected i/n, such as 0/3 (the first of three)`);
  if (!(index < count)) throw usageError(`--shard ${value}: the shard index runs from 0 to ${count - 1}`);
  return { index, count };
}

export function freshState(settings: ExamplesSettings, paths: string[], shard: Shard | null): ExamplesState {
  return {
    version: 2,
    settings,
    list: { digest: listDigest(paths), count: paths.length },
    shard,
    slice: shardSlice(paths.length, shard),
    done: 0,
    scored: 0,
    failed: [],
    complete: false,
    examples: settings.channels.map(() => []),
    stamps: [],
    sources: {},
  };
}

/** The first setting two runs differ in, or undefined. */
export function settingsDifference(a: ExamplesSettings, b: ExamplesSettings): string | undefined {
  return (Object.keys(a) as Array<keyof ExamplesSettings>).find(
    (key) => JSON.stringify(a[key]) !== JSON.stringify(b[key]),
  );
}

/** Why a saved state cannot be continued by this run; undefined when it can. */
export function cannotContinue(saved: ExamplesState, fresh: ExamplesState, paths: string[]): string | undefined {
  const differs = settingsDifference(saved.settings, fresh.settings);
  if (differs) return `it was made with another ${differs}`;
  if (saved.list.digest !== fresh.list.digest) return 'it was made over another list of images';
  if (JSON.stringify(saved.shard) !== JSON.stringify(fresh.shard)) return 'it was made for another shard';
  // Every example must be one of the images this run went through: a state naming others is not this run's.
  const start = saved.slice[0];
  const done = new Set(paths.slice(start, start + saved.done));
  const stranger = saved.examples.flat().find((e) => !done.has(e.image));
  if (stranger) return `it names '${stranger.image}' as an example, which is not one of the images it went through`;
  return undefined;
}

/** A state file larger than this is not one cnnviz wrote (50,000 images take about 2 MB). */
const MAX_STATE_BYTES = 256 * 2 ** 20;

/**
 * A folder's saved state; undefined when there is none. A state that cannot be trusted (not
 * JSON, of another shape, parts that disagree, a symbolic link) throws a runtime error saying
 * why, never echoing the file's text.
 */
export async function readState(folder: string): Promise<ExamplesState | undefined> {
  const path = join(folder, STATE_FILE);
  const info = await lstat(path).catch(() => undefined);
  if (!info) return undefined;
  const damaged = (why: string) => runtimeError(`'${path}' cannot be used (${why})`);
  if (info.isSymbolicLink())
    throw damaged('it is a symbolic link; cnnviz writes its state as a file and follows no link');
  if (!info.isFile()) throw damaged('it is not a file');
  if (info.size > MAX_STATE_BYTES) throw damaged(`${info.size} bytes, more than a state holds`);
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, 'utf8'));
  } catch {
    throw damaged('not JSON');
  }
  const parsed = parseStateFile(json);
  if ('problem' in parsed) throw damaged(parsed.problem);
  return parsed.state as ExamplesState;
}

/** The sources of the images among the examples only: the state stays as small as the lists. */
export function pruneSources(state: ExamplesState): void {
  const kept = new Set(state.examples.flat().map((e) => e.image));
  for (const image of Object.keys(state.sources)) if (!kept.has(image)) delete state.sources[image];
}

export const writeState = (folder: string, state: ExamplesState): Promise<void> =>
  writeFileAtomic(join(folder, STATE_FILE), new TextEncoder().encode(JSON.stringify(state)));

/** The same, synchronously: for an interrupt, which ends the process right after. */
export const writeStateSync = (folder: string, state: ExamplesState): void =>
  writeFileAtomicSync(join(folder, STATE_FILE), new TextEncoder().encode(JSON.stringify(state)));

export interface MergedExamples {
  settings: ExamplesSettings;
  /** Images scored over all shards. */
  scored: number;
  failed: string[];
  examples: Example[][];
  sources: Record<string, SourceImage>;
}

/** Shards of one run (same settings and image list, every index once, each finished) as one result. */
export function mergeStates(shards: Array<{ folder: string; state: ExamplesState }>): MergedExamples {
  const [first] = shards;
  for (const { folder, state } of shards) {
    if (!state.shard) throw usageError(`'${folder}' holds a whole run, not a shard (--shard i/n makes those)`);
    const differs = settingsDifference(first.state.settings, state.settings);
    if (differs) {
      const show = (s: ExamplesState) => JSON.stringify(s.settings[differs as keyof ExamplesSettings]);
      throw usageError(
        `the shards differ in ${differs}: ${show(first.state)} in '${first.folder}', ${show(state)} in '${folder}'`,
      );
    }
    if (state.list.digest !== first.state.list.digest)
      throw usageError(`the shards ran over different image lists ('${first.folder}' and '${folder}')`);
    if (state.shard.count !== first.state.shard!.count)
      throw usageError(
        `the shards split the images differently: '${first.folder}' is one of ${first.state.shard!.count}, '${folder}' one of ${state.shard.count}`,
      );
    if (!state.complete)
      throw usageError(
        `shard ${state.shard.index}/${state.shard.count} in '${folder}' stopped after ${state.done} of its ${state.slice[1] - state.slice[0]} images; run it again to finish`,
      );
  }
  const count = first.state.shard!.count;
  const seen = new Map<number, string>();
  for (const { folder, state } of shards) {
    const other = seen.get(state.shard!.index);
    if (other) throw usageError(`shard ${state.shard!.index}/${count} is given twice ('${other}' and '${folder}')`);
    seen.set(state.shard!.index, folder);
  }
  if (seen.size < count) {
    // Named up to five, without walking a count a tampered state may make huge.
    const missing: string[] = [];
    for (let i = 0; i < count && missing.length < 5; i++) if (!seen.has(i)) missing.push(`${i}/${count}`);
    const more = count - seen.size - missing.length;
    throw usageError(
      `shard${count - seen.size > 1 ? 's' : ''} ${missing.join(', ')}${more > 0 ? ` and ${more.toLocaleString('en-US')} more` : ''} missing from the merge`,
    );
  }
  const { settings } = first.state;
  const examples = settings.channels.map((_, k) =>
    mergeTop(
      shards.map((s) => s.state.examples[k]),
      settings.top,
    ),
  );
  return {
    settings,
    scored: shards.reduce((sum, s) => sum + s.state.scored, 0),
    failed: shards.flatMap((s) => s.state.failed),
    examples,
    sources: Object.assign({}, ...shards.map((s) => s.state.sources)),
  };
}
