/**
 * The scoring pass of `cnnviz examples`: every image of the run's part of the list through the
 * network once, each chosen channel's running top-k updated, the state saved every few images
 * (atomically) so that an interrupted run continues. Memory holds the lists (channels x top)
 * and one image at a time, whatever the number of images; the next image decodes while the
 * network runs on this one.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileSystemReason, messageOf, runtimeError } from '../../errors.js';
import { decodeImage, type RgbImage } from '../../image/decode.js';
import { resizeImage, type ResizeMethod } from '../../image/resize.js';
import type { EngineRequest } from '../../formats/model.js';
import type { MapShape } from '../../net/net.js';
import { fieldBox, scaleBox, type ReceptiveField } from '../../net/receptive.js';
import { fileSafe } from '../../output/names.js';
import { timed, timedSync } from '../../timings.js';
import { startFeatureEngine, type FeaturePlan } from '../features.js';
import { channelScores, offer, type ScoreMode } from './scores.js';
import { cannotContinue, freshState, readState, writeState, type ExamplesSettings, type ExamplesState, type Shard } from './state.js';

export interface ExamplesOptions {
  output: string;
  channels: number[];
  top: number;
  score: ScoreMode;
  context: boolean;
  /** Pixels on a side of each crop as drawn. */
  tile: number;
  resize: ResizeMethod;
  /** The state is saved after every this many images. */
  saveEvery: number;
  shard: Shard | null;
  /** --weights as given, for the state (a file by its name only). */
  weights: string;
}

export interface ExamplesEvents {
  notice(line: string): void;
  progress?(done: number, total: number): void;
}

/** Where a layer's examples go: out/<layer>/. */
export const examplesFolder = (output: string, layer: string): string => join(output, fileSafe(layer));

export function examplesSettings(plan: FeaturePlan, options: ExamplesOptions): ExamplesSettings {
  const { channels, top, score, tile, context, resize, weights } = options;
  return { model: plan.net.name, weights, layer: plan.layers[0], score, top, channels, input: [plan.input.width, plan.input.height], preprocessing: plan.preprocessing, resize, tile, context };
}

/** The saved state this run continues, or a fresh one (saying why a saved one is not continued). */
async function startingState(folder: string, fresh: ExamplesState, notice: (line: string) => void): Promise<ExamplesState> {
  let saved: ExamplesState | undefined;
  try {
    saved = await readState(folder);
  } catch (err) {
    notice(`${messageOf(err).replace(/; remove it to start over$/, '')}; starting over`);
    return fresh;
  }
  if (!saved) return fresh;
  const reason = cannotContinue(saved, fresh);
  if (reason) {
    notice(`the saved state in '${folder}' is not continued (${reason}); starting over`);
    return fresh;
  }
  const total = saved.slice[1] - saved.slice[0];
  if (saved.complete) notice(`all ${total} images were scored by an earlier run (state in '${folder}'); drawing`);
  else if (saved.done > 0) notice(`continuing after ${saved.done} of ${total} images (state in '${folder}')`);
  return saved;
}

export async function findExamples(plan: FeaturePlan, field: ReceptiveField, paths: string[], options: ExamplesOptions, request: EngineRequest, events: ExamplesEvents): Promise<ExamplesState> {
  const folder = examplesFolder(options.output, plan.layers[0]);
  try {
    await mkdir(folder, { recursive: true });
  } catch (err) {
    throw runtimeError(`cannot create '${folder}': ${fileSystemReason(err)}`);
  }
  const state = await startingState(folder, freshState(examplesSettings(plan, options), paths, options.shard), events.notice);
  const [start, end] = state.slice;
  const todo = paths.slice(start + state.done, end);
  const save = () => timed('save state', () => writeState(folder, state)).catch((err) => {
    throw runtimeError(`cannot save the state in '${folder}': ${fileSystemReason(err)}`);
  });
  if (todo.length === 0) {
    // Finished before, or a shard with no images of its own (more shards than images): its state still counts.
    state.complete = true;
    await save();
    return state;
  }
  const { width, height } = plan.input;
  const shape = plan.mapShapes[0] as MapShape;

  type Decoded = { original: [number, number]; input: RgbImage } | { error: unknown };
  const decode = (path: string): Promise<Decoded> =>
    timed('decode+resize', async () => {
      const image = await decodeImage(path);
      return { original: [image.width, image.height] as [number, number], input: await resizeImage(image, width, height, options.resize) };
    }).catch((error) => ({ error }));

  let next = decode(todo[0]);
  const engine = await startFeatureEngine(plan, request);
  if (engine.weights.random) events.notice(`weights: ${engine.weights.description}; the examples show an untrained network`);
  try {
    for (let i = 0; i < todo.length; i++) {
      const path = todo[i];
      const decoded = await next;
      if (i + 1 < todo.length) next = decode(todo[i + 1]);
      if ('error' in decoded) {
        state.failed.push(`${path}: ${messageOf(decoded.error)}`);
        events.notice(`skipping ${path}: ${messageOf(decoded.error)}`);
      } else {
        const [activation] = (await engine.activations([decoded.input]))[0];
        timedSync('score', () => {
          channelScores(activation, shape, options.channels, options.score).forEach(({ score, y, x }, k) => {
            const box = scaleBox(fieldBox(field, y, x, [width, height]), [width, height], decoded.original);
            offer(state.examples[k], { image: path, score, y, x, box }, options.top);
          });
        });
        state.scored++;
      }
      state.done++;
      events.progress?.(state.done, end - start);
      if (state.done % options.saveEvery === 0) await save();
    }
  } finally {
    await engine.dispose();
  }
  state.complete = true;
  await save();
  return state;
}
