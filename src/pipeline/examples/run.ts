/**
 * `cnnviz examples`, whole: the plan (one spatial layer, its receptive field, the channels),
 * the scoring pass, then the pictures, or for a shard its state and tiles; and the merge of
 * shards into the pictures one run would have drawn.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileSystemReason, messageOf, runtimeError, usageError } from '../../errors.js';
import type { EngineRequest } from '../../formats/types.js';
import { receptiveField, type ReceptiveField } from '../../net/receptive.js';
import { prepareOutputDir, type WrittenFile } from '../../output/files.js';
import { fileSafe } from '../../output/names.js';
import { planFeatures, type FeaturePlan, type FeatureRequest } from '../features.js';
import { drawExamples, loadTiles, saveTiles, tileKey, tilesFromImages, type Tiles } from './draw.js';
import { examplesFolder, findExamples, type ExamplesEvents, type ExamplesOptions } from './find.js';
import { mergeStates, readState, SOURCES_FOLDER, STATE_FILE, type ExamplesState } from './state.js';

/** `--channels`: 'all', or numbers and ranges like '0-15,32'; checked against the layer's channels. */
export function parseChannels(value: string, available: number): number[] {
  if (value === 'all') return Array.from({ length: available }, (_, i) => i);
  const out = new Set<number>();
  for (const part of value.split(',').map((s) => s.trim())) {
    const match = /^(\d+)(?:-(\d+))?$/.exec(part);
    const [from, to] = match ? [Number(match[1]), Number(match[2] ?? match[1])] : [NaN, NaN];
    if (!(from <= to)) throw usageError(`--channels takes 'all' or channels and ranges like 0-15,32, got '${value}'`);
    if (to >= available)
      throw usageError(`--channels ${value}: the layer has ${available} channels, 0 to ${available - 1}`);
    for (let c = from; c <= to; c++) out.add(c);
  }
  return [...out].sort((a, b) => a - b);
}

export interface ExamplesPlan {
  /** The one layer's features: model, network, shape of its maps, input. */
  features: FeaturePlan;
  field: ReceptiveField;
  channels: number[];
}

/** The layer (one, with maps), its field, and the channels: every usage error before any work. */
export async function planExamples(
  request: FeatureRequest & { layer: string; channels?: string },
): Promise<ExamplesPlan> {
  const plan = await planFeatures({ ...request, layers: [request.layer] });
  const [, , available] = plan.mapShapes[0];
  const channels = parseChannels(request.channels ?? (available > 64 ? '0-63' : 'all'), available);
  return { features: plan, field: receptiveField(plan.net, plan.layers[0]), channels };
}

export interface ExamplesResult {
  written: WrittenFile[];
  state: ExamplesState;
}

export async function runExamples(
  { features: plan, field }: ExamplesPlan,
  paths: string[],
  options: ExamplesOptions,
  request: EngineRequest,
  events: ExamplesEvents,
): Promise<ExamplesResult> {
  const state = await findExamples(plan, field, paths, options, request, events);
  if (state.scored === 0 && state.failed.length > 0) {
    // Nothing to draw: empty pictures would only hide that every image failed.
    const names = state.failed.map((f) => f.split(': ')[0]);
    throw runtimeError(
      `none of the ${names.length} images could be read (${names.slice(0, 3).join(', ')}${names.length > 3 ? ', ...' : ''}); no pictures drawn`,
    );
  }
  const folder = examplesFolder(options.output, plan.layers[0]);
  const tiles = await tilesFromImages(state.examples, state.settings, state.sources);
  if (state.shard) {
    const tileBytes = await saveTiles(folder, tiles);
    const { index, count } = state.shard;
    return {
      state,
      written: [
        {
          path: join(folder, STATE_FILE),
          bytes: (await stat(join(folder, STATE_FILE))).size,
          shows: `shard ${index}/${count}: ${state.scored} images scored, for --merge`,
        },
        {
          path: join(folder, SOURCES_FOLDER),
          bytes: tileBytes,
          shows: `the tiles of its ${tiles.size} examples, for --merge`,
        },
      ],
    };
  }
  return { state, written: await drawExamples(folder, state.settings, state.scored, state.examples, tiles) };
}

/** The state files a `--merge` argument stands for: the folder's own, or its one layer's. */
async function stateFolder(arg: string, layer?: string): Promise<string> {
  if (existsSync(join(arg, STATE_FILE))) return arg;
  const entries = await readdir(arg, { withFileTypes: true }).catch(() => {
    throw usageError(`--merge ${arg}: no such folder`);
  });
  const found = entries.filter((e) => e.isDirectory() && existsSync(join(arg, e.name, STATE_FILE))).map((e) => e.name);
  const chosen = layer ? found.filter((name) => name === fileSafe(layer)) : found;
  if (chosen.length === 1) return join(arg, chosen[0]);
  if (chosen.length === 0)
    throw usageError(`--merge ${arg}: no shard state there (${STATE_FILE}${layer ? ` for ${layer}` : ''})`);
  throw usageError(`--merge ${arg}: states of several layers (${chosen.join(', ')}); name one with --layer`);
}

/** Shards' states and tiles to the pictures and JSON of one run over all their images, in output/<layer>/. */
export async function mergeExamples(
  args: string[],
  output: string,
  layer?: string,
): Promise<ExamplesResult & { shards: number }> {
  const folders = await Promise.all(args.map((arg) => stateFolder(arg, layer)));
  const shards = await Promise.all(
    folders.map(async (folder) => {
      try {
        return { folder, state: (await readState(folder))! };
      } catch (err) {
        throw usageError(`the shard in '${folder}': ${messageOf(err)}`);
      }
    }),
  );
  const merged = mergeStates(shards);
  // Each example's tiles come from the shard that scored its image.
  const chosen = new Set(merged.examples.flat().map(tileKey));
  const tiles = new Map<string, Tiles>();
  for (const { folder, state } of shards) {
    const own = state.examples.flat().filter((e) => chosen.has(tileKey(e)));
    for (const [key, value] of await loadTiles(folder, own, merged.settings)) tiles.set(key, value);
  }
  // Only shards that belong together make the output folder.
  await prepareOutputDir(output);
  const folder = examplesFolder(output, merged.settings.layer);
  try {
    await mkdir(folder, { recursive: true });
  } catch (err) {
    throw runtimeError(`cannot create '${folder}': ${fileSystemReason(err)}`);
  }
  const written = await drawExamples(folder, merged.settings, merged.scored, merged.examples, tiles);
  const state = {
    ...shards[0].state,
    shard: null,
    scored: merged.scored,
    failed: merged.failed,
    examples: merged.examples,
  };
  return { written, state, shards: shards.length };
}
