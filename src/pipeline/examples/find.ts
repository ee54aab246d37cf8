/**
 * The scoring pass of `cnnviz examples`: every image of the run's part of the list through the
 * network once, each chosen channel's running top-k updated, the state saved every few images
 * (atomically) so that an interrupted run continues. Memory holds the lists (channels x top)
 * and one image at a time, whatever the number of images; the next image decodes while the
 * network runs on this one.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { fileSystemReason, messageOf, runtimeError } from '../../errors.js';
import { decodeImageFile, type FileIdentity, type RgbImage } from '../../image/decode.js';
import { resizeImage, type ResizeMethod } from '../../image/resize.js';
import type { EngineRequest } from '../../formats/types.js';
import type { MapShape } from '../../net/net.js';
import { fieldBox, scaleBox, type ReceptiveField } from '../../net/receptive.js';
import { outputPath } from '../../output/files.js';
import { fileSafe } from '../../output/names.js';
import { timed, timedSync } from '../../timings.js';
import { startFeatureEngine, type FeaturePlan } from '../features.js';
import { atInterrupt } from '../../temp-files.js';
import { channelScores, offer, type ChannelScore, type ScoreMode } from './scores.js';
import {
  cannotContinue,
  freshState,
  pruneSources,
  readState,
  writeState,
  writeStateSync,
  type ExamplesSettings,
  type ExamplesState,
  type Shard,
} from './state.js';

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
export const examplesFolder = (output: string, layer: string): string => outputPath(output, fileSafe(layer));

export function examplesSettings(plan: FeaturePlan, options: ExamplesOptions): ExamplesSettings {
  const { channels, top, score, tile, context, resize, weights } = options;
  const map = plan.mapShapes[0] as MapShape;
  return {
    model: plan.net.name,
    weights,
    layer: plan.layers[0],
    score,
    top,
    channels,
    map,
    input: [plan.input.width, plan.input.height],
    preprocessing: plan.preprocessing,
    resize,
    tile,
    context,
  };
}

/** The stamp a state keeps of an image: its size and time, or [-1, -1] when it cannot be read. */
const stampOf = async (path: string): Promise<[number, number]> =>
  stat(path).then(
    (info) => [info.size, info.mtimeMs] as [number, number],
    () => [-1, -1] as [number, number],
  );

const sha256Of = async (path: string): Promise<string | undefined> =>
  readFile(path).then(
    (bytes) => createHash('sha256').update(bytes).digest('hex'),
    () => undefined,
  );

/**
 * Images of a saved state that changed since it scored them (another size or time; for the
 * examples' images, also other bytes). An example's image that changed cannot be repaired in
 * place (what ranked below it is gone), so the state is not continued; any other changed image
 * is scored again, which is exact: its old score ranked nowhere.
 */
async function changedImages(saved: ExamplesState, paths: string[]): Promise<{ example?: string; others: number[] }> {
  const [start] = saved.slice;
  const stamps = await Promise.all(paths.slice(start, start + saved.done).map(stampOf));
  const differs = (i: number) => stamps[i][0] !== saved.stamps[i][0] || stamps[i][1] !== saved.stamps[i][1];
  const index = new Map(paths.slice(start, start + saved.done).map((p, i) => [p, i]));
  for (const image of new Set(saved.examples.flat().map((e) => e.image))) {
    if (differs(index.get(image)!) || (await sha256Of(image)) !== saved.sources[image].sha256)
      return { example: image, others: [] };
  }
  return { others: stamps.map((_, i) => i).filter(differs) };
}

/** The saved state this run continues, or a fresh one (saying why a saved one is not continued), and the images to score again. */
async function startingState(
  folder: string,
  fresh: ExamplesState,
  paths: string[],
  notice: (line: string) => void,
): Promise<{ state: ExamplesState; again: number[] }> {
  let saved: ExamplesState | undefined;
  try {
    saved = await readState(folder);
  } catch (err) {
    notice(`${messageOf(err)}; starting over`);
    return { state: fresh, again: [] };
  }
  if (!saved) return { state: fresh, again: [] };
  const reason = cannotContinue(saved, fresh, paths);
  if (reason) {
    notice(`the saved state in '${folder}' is not continued (${reason}); starting over`);
    return { state: fresh, again: [] };
  }
  const changed = await changedImages(saved, paths);
  if (changed.example) {
    notice(`'${changed.example}' changed since it was scored, and it is one of the examples; starting over`);
    return { state: fresh, again: [] };
  }
  const total = saved.slice[1] - saved.slice[0];
  const again = changed.others.length;
  if (again) {
    const named = changed.others.slice(0, 3).map((i) => paths[saved.slice[0] + i]);
    const list = `${named.join(', ')}${again > 3 ? ', ...' : ''}`;
    notice(
      `${again} image${again > 1 ? 's' : ''} changed since scored (${list}); scoring ${again > 1 ? 'them' : 'it'} again`,
    );
  }
  if (saved.complete && !again)
    notice(`all ${total} images were scored by an earlier run (state in '${folder}'); drawing`);
  else if (saved.done > 0) notice(`continuing after ${saved.done} of ${total} images (state in '${folder}')`);
  return { state: saved, again: changed.others };
}

/** One image to score: its place in the slice, and whether it was gone through before (scored again). */
interface Job {
  at: number;
  again: boolean;
}

/** Takes an image's earlier result out of the counts, before its new one goes in. */
function forget(state: ExamplesState, path: string): void {
  const failed = state.failed.findIndex((f) => f.startsWith(`${path}: `));
  if (failed >= 0) state.failed.splice(failed, 1);
  else state.scored--;
}

export async function findExamples(
  plan: FeaturePlan,
  field: ReceptiveField,
  paths: string[],
  options: ExamplesOptions,
  request: EngineRequest,
  events: ExamplesEvents,
): Promise<ExamplesState> {
  const folder = examplesFolder(options.output, plan.layers[0]);
  try {
    await mkdir(folder, { recursive: true });
  } catch (err) {
    throw runtimeError(`cannot create '${folder}': ${fileSystemReason(err)}`);
  }
  const { state, again } = await startingState(
    folder,
    freshState(examplesSettings(plan, options), paths, options.shard),
    paths,
    events.notice,
  );
  const [start, end] = state.slice;
  const jobs: Job[] = [
    ...again.map((at) => ({ at, again: true })),
    ...Array.from({ length: end - start - state.done }, (_, i) => ({ at: state.done + i, again: false })),
  ];
  const save = () => {
    pruneSources(state);
    return timed('save state', () => writeState(folder, state)).catch((err) => {
      throw runtimeError(`cannot save the state in '${folder}': ${fileSystemReason(err)}`);
    });
  };
  if (jobs.length === 0) {
    // Finished before, or a shard with no images of its own (more shards than images): its state still counts.
    state.complete = true;
    await save();
    return state;
  }
  state.complete = false;
  const { width, height } = plan.input;
  const shape = plan.mapShapes[0] as MapShape;

  type Decoded =
    { original: RgbImage; identity: FileIdentity; input: RgbImage } | { error: unknown; stamp: [number, number] };
  const decode = (path: string): Promise<Decoded> =>
    timed('decode+resize', async () => {
      const { image, identity } = await decodeImageFile(path);
      return { original: image, identity, input: await resizeImage(image, width, height, options.resize) };
    }).catch(async (error) => ({ error, stamp: await stampOf(path) }));

  let next = decode(paths[start + jobs[0].at]);
  const engine = await startFeatureEngine(plan, request);
  if (engine.weights.random)
    events.notice(`weights: ${engine.weights.description}; the examples show an untrained network`);
  // Ctrl-C between images keeps what was scored: the state is whole at every await below.
  const stopSaving = atInterrupt(() => {
    pruneSources(state);
    writeStateSync(folder, state);
  });
  const nonFinite = { images: 0, first: '' };
  try {
    for (let j = 0; j < jobs.length; j++) {
      const job = jobs[j];
      const path = paths[start + job.at];
      const decoded = await next;
      if (j + 1 < jobs.length) next = decode(paths[start + jobs[j + 1].at]);
      let scores: ChannelScore[] | undefined;
      if (!('error' in decoded)) {
        const activations = await engine.activations([decoded.input]);
        scores = timedSync('score', () => channelScores(activations[0][0], shape, options.channels, options.score));
        engine.release(activations);
      }
      // From here to the end of the turn nothing awaits: the counts change together.
      if (job.again) forget(state, path);
      if ('error' in decoded) {
        state.failed.push(`${path}: ${messageOf(decoded.error)}`);
        events.notice(`skipping ${path}: ${messageOf(decoded.error)}`);
        setStamp(state, job.at, decoded.stamp);
      } else {
        const { original, identity } = decoded;
        const size: [number, number] = [original.width, original.height];
        let ranked = false;
        let finite = true;
        scores!.forEach(({ score, y, x }, k) => {
          if (!Number.isFinite(score)) {
            finite = false;
            return;
          }
          const box = scaleBox(fieldBox(field, y, x, [width, height]), [width, height], size);
          ranked = offer(state.examples[k], { image: path, score, y, x, box }, options.top) || ranked;
        });
        if (!finite && nonFinite.images++ === 0) nonFinite.first = path;
        if (ranked) state.sources[path] = { width: original.width, height: original.height, sha256: identity.sha256 };
        setStamp(state, job.at, [identity.bytes, identity.mtimeMs]);
        state.scored++;
      }
      if (!job.again) state.done++;
      events.progress?.(state.done, end - start);
      if ((j + 1) % options.saveEvery === 0) await save();
    }
  } finally {
    stopSaving();
    await engine.dispose();
  }
  if (nonFinite.images) {
    events.notice(
      `${plan.layers[0]} gave non-finite values (NaN or infinity) for ${nonFinite.images} image${nonFinite.images > 1 ? 's' : ''}, first '${nonFinite.first}'; such scores rank nowhere`,
    );
  }
  state.complete = true;
  await save();
  return state;
}

function setStamp(state: ExamplesState, at: number, stamp: [number, number]): void {
  if (at < state.stamps.length) state.stamps[at] = stamp;
  else state.stamps.push(stamp);
}
