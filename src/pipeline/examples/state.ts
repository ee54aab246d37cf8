/**
 * Dataset examples, the state half: what a run has found so far, saved atomically every few
 * images so that a rerun continues, and what shards leave for `--merge`. A state says what it
 * was made with (settings, the image list's digest, the shard), so that a rerun with other
 * arguments starts over and a merge refuses shards that do not belong together.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runtimeError, usageError } from '../../errors.js';
import { writeFileAtomic } from '../../output/files.js';
import { mergeTop, type Example, type ScoreMode } from './scores.js';

export interface ExamplesSettings {
  model: string;
  /** --weights as given (a file by its name only: shards on other machines keep it elsewhere). */
  weights: string;
  layer: string;
  score: ScoreMode;
  top: number;
  channels: number[];
  /** The network's input, width x height. */
  input: [number, number];
  preprocessing: string;
  resize: string;
  tile: number;
  context: boolean;
}

export interface Shard {
  index: number;
  count: number;
}

export interface ExamplesState {
  version: 1;
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
}

export const STATE_FILE = 'state.json';
/** Where a shard keeps its examples' tiles for the merge. */
export const SOURCES_FOLDER = 'sources';

export const listDigest = (paths: string[]): string => createHash('sha256').update(paths.join('\n')).digest('hex');

/** Shard i of n: a contiguous part of the list, the parts as even as they can be. */
export function shardSlice(count: number, shard: Shard | null): [number, number] {
  if (!shard) return [0, count];
  return [Math.floor((shard.index * count) / shard.count), Math.floor(((shard.index + 1) * count) / shard.count)];
}

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
    version: 1,
    settings,
    list: { digest: listDigest(paths), count: paths.length },
    shard,
    slice: shardSlice(paths.length, shard),
    done: 0,
    scored: 0,
    failed: [],
    complete: false,
    examples: settings.channels.map(() => []),
  };
}

/** The first setting two runs differ in, or undefined. */
export function settingsDifference(a: ExamplesSettings, b: ExamplesSettings): string | undefined {
  return (Object.keys(a) as Array<keyof ExamplesSettings>).find((key) => JSON.stringify(a[key]) !== JSON.stringify(b[key]));
}

/** Why a saved state cannot be continued by this run; undefined when it can. */
export function cannotContinue(saved: ExamplesState, fresh: ExamplesState): string | undefined {
  const differs = settingsDifference(saved.settings, fresh.settings);
  if (differs) return `it was made with another ${differs}`;
  if (saved.list.digest !== fresh.list.digest) return 'it was made over another list of images';
  if (JSON.stringify(saved.shard) !== JSON.stringify(fresh.shard)) return 'it was made for another shard';
  return undefined;
}

/** A folder's saved state; undefined when there is none, a runtime error when it is damaged. */
export async function readState(folder: string): Promise<ExamplesState | undefined> {
  const path = join(folder, STATE_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const state = JSON.parse(text) as ExamplesState;
    if (state.version !== 1 || !Array.isArray(state.examples)) throw new Error('not a cnnviz examples state');
    return state;
  } catch (err) {
    throw runtimeError(`'${path}' is damaged (${(err as Error).message}); remove it to start over`);
  }
}

export const writeState = (folder: string, state: ExamplesState): Promise<void> => writeFileAtomic(join(folder, STATE_FILE), new TextEncoder().encode(JSON.stringify(state)));

export interface MergedExamples {
  settings: ExamplesSettings;
  /** Images scored over all shards. */
  scored: number;
  failed: string[];
  examples: Example[][];
}

/** Shards of one run (same settings and image list, every index once, each finished) as one result. */
export function mergeStates(shards: Array<{ folder: string; state: ExamplesState }>): MergedExamples {
  const [first] = shards;
  for (const { folder, state } of shards) {
    if (!state.shard) throw usageError(`'${folder}' holds a whole run, not a shard (--shard i/n makes those)`);
    const differs = settingsDifference(first.state.settings, state.settings);
    if (differs) {
      const show = (s: ExamplesState) => JSON.stringify(s.settings[differs as keyof ExamplesSettings]);
      throw usageError(`the shards differ in ${differs}: ${show(first.state)} in '${first.folder}', ${show(state)} in '${folder}'`);
    }
    if (state.list.digest !== first.state.list.digest) throw usageError(`the shards ran over different image lists ('${first.folder}' and '${folder}')`);
    if (state.shard.count !== first.state.shard!.count) throw usageError(`the shards split the images differently: '${first.folder}' is one of ${first.state.shard!.count}, '${folder}' one of ${state.shard.count}`);
    if (!state.complete) throw usageError(`shard ${state.shard.index}/${state.shard.count} in '${folder}' stopped after ${state.done} of its ${state.slice[1] - state.slice[0]} images; run it again to finish`);
  }
  const count = first.state.shard!.count;
  const seen = new Map<number, string>();
  for (const { folder, state } of shards) {
    const other = seen.get(state.shard!.index);
    if (other) throw usageError(`shard ${state.shard!.index}/${count} is given twice ('${other}' and '${folder}')`);
    seen.set(state.shard!.index, folder);
  }
  const missing = Array.from({ length: count }, (_, i) => i).filter((i) => !seen.has(i));
  if (missing.length) throw usageError(`shard${missing.length > 1 ? 's' : ''} ${missing.map((i) => `${i}/${count}`).join(', ')} missing from the merge`);
  const { settings } = first.state;
  return {
    settings,
    scored: shards.reduce((sum, s) => sum + s.state.scored, 0),
    failed: shards.flatMap((s) => s.state.failed),
    examples: settings.channels.map((_, k) => mergeTop(shards.map((s) => s.state.examples[k]), settings.top)),
  };
}
