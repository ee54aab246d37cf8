/**
 * The featuremaps job: images in, mosaics (and overlays, .npy) out, for any model. Images are
 * checked before the engine starts, decoded batch by batch (the next batch decodes while this
 * one runs), and the PNGs of one batch encode while the next forward pass runs, so memory stays
 * flat whatever the number of images. A bad image in a batch is reported and skipped.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileSystemReason, isDiskFull, messageOf, runtimeError } from '../errors.js';
import { checkImage, decodeImage, type RgbImage } from '../image/decode.js';
import { resizeImage, type ResizeMethod } from '../image/resize.js';
import type { EngineRequest } from '../formats/types.js';
import { outputPath, writeFileAtomic, writePng, type WrittenFile } from '../output/files.js';
import { fileSafe, imageStems } from '../output/names.js';
import { npyBytes } from '../output/npy.js';
import { colormapLut, type ColormapName } from '../render/colormap.js';
import {
  channelStats,
  featureMapGrid,
  selectChannels,
  type MapNormalize,
  type MapOrder,
} from '../render/featuremaps.js';
import { activationPlane, overlay } from '../render/overlay.js';
import { timed, timedSync } from '../timings.js';
import { nonFiniteWatch, startFeatureEngine, type FeaturePlan } from './features.js';

export interface FeaturemapsOptions {
  output: string;
  /** How many maps per layer (Infinity: all); with `top`, the strongest. */
  count?: number;
  top?: number;
  sort: MapOrder;
  normalize: MapNormalize;
  colormap: ColormapName;
  minTile: number;
  labels?: boolean;
  resize: ResizeMethod;
  saveNpy?: boolean;
  overlay?: boolean;
  channel?: number;
  alpha: number;
  batchSize: number;
  /** Redraw images whose pictures exist (batches skip them otherwise). */
  force?: boolean;
}

export interface FeaturemapsEvents {
  /** Things a user should know: a clamped count, skipped images, random weights. */
  notice(line: string): void;
  /** Images done out of the total, after each batch. */
  progress?(done: number, total: number): void;
}

export interface FeaturemapsResult {
  written: WrittenFile[];
  /** `path: reason` of each image that could not be drawn. */
  failures: string[];
  images: number;
  engine: string;
  weights: string;
}

/** Beside a batch image's pictures: the options they were drawn with. */
const STAMP = '.cnnviz.json';

/** A digest of everything that shapes a picture: the model, its weights and input, the layers, the picture options. */
function picturesStamp(plan: FeaturePlan, options: FeaturemapsOptions, weights: string): string {
  const { count, top, sort, normalize, colormap, minTile, labels, resize, saveNpy, overlay, channel, alpha } = options;
  const shaping = {
    model: plan.net.name,
    weights,
    input: plan.input,
    preprocessing: plan.preprocessing,
    layers: plan.layers,
    count,
    top,
    sort,
    normalize,
    colormap,
    minTile,
    labels,
    resize,
    saveNpy,
    overlay,
    channel,
    alpha,
  };
  return createHash('sha256').update(JSON.stringify(shaping)).digest('hex').slice(0, 16);
}

interface ImageJob {
  path: string;
  /** Output path without extension, per layer. */
  bases: string[];
}

export async function drawFeatureMaps(
  plan: FeaturePlan,
  paths: string[],
  options: FeaturemapsOptions,
  request: EngineRequest,
  events: FeaturemapsEvents,
): Promise<FeaturemapsResult> {
  const { layers, mapShapes, input } = plan;
  const many = paths.length > 1;
  // One image: out/<image>-<layer>.png, as the tutorial's pictures; many: a folder each.
  const stems = imageStems(paths);
  const names = layers.map(fileSafe);
  const jobs: ImageJob[] = paths.map((path, i) => ({
    path,
    bases: names.map((layer) =>
      many ? outputPath(options.output, stems[i], layer) : outputPath(options.output, `${stems[i]}-${layer}`),
    ),
  }));
  const expected = (job: ImageJob) =>
    job.bases.flatMap((b) => [
      `${b}.png`,
      ...(options.saveNpy ? [`${b}.npy`] : []),
      ...(options.overlay ? [`${b}-overlay.png`] : []),
    ]);
  // What shapes the pictures: a batch rerun with other options redraws instead of skipping.
  const stamp = JSON.stringify({ pictures: picturesStamp(plan, options, request.weights) });
  const stampOf = (job: ImageJob) => join(dirname(job.bases[0]), STAMP);
  const done = (job: ImageJob): boolean => {
    try {
      return expected(job).every((f) => existsSync(f)) && readFileSync(stampOf(job), 'utf8') === stamp;
    } catch {
      return false; // no stamp: drawn by an older cnnviz, or interrupted before it was written
    }
  };
  // Skipping is for batches (an interrupted run continues); one image is always drawn afresh.
  const todo = options.force || !many ? jobs : jobs.filter((job) => !done(job));
  if (todo.length < jobs.length)
    events.notice(
      `${jobs.length - todo.length} of ${jobs.length} images already have their pictures; skipped (--force redoes them)`,
    );

  const failures: string[] = [];
  const skip = (job: ImageJob, err: unknown): undefined => {
    if (!many) throw err;
    failures.push(`${job.path}: ${messageOf(err)}`);
    events.notice(`skipping ${job.path}: ${messageOf(err)}`);
    return undefined;
  };
  // Headers first: a missing or unreadable image fails before weights and the engine are paid for.
  const readable: ImageJob[] = [];
  for (const job of todo) {
    try {
      await checkImage(job.path);
      readable.push(job);
    } catch (err) {
      skip(job, err);
    }
  }
  const decode = (job: ImageJob): Promise<RgbImage | undefined> =>
    timed('decode+resize', async () =>
      resizeImage(await decodeImage(job.path), input.width, input.height, options.resize),
    ).catch((err) => skip(job, err));
  const batches: ImageJob[][] = [];
  for (let i = 0; i < readable.length; i += options.batchSize) batches.push(readable.slice(i, i + options.batchSize));
  const written: WrittenFile[] = [];
  if (batches.length === 0) return { written, failures, images: jobs.length, engine: 'none', weights: request.weights };

  // The first batch decodes on sharp's threads while the engine starts on this one.
  let decoding = Promise.all(batches[0].map(decode));
  decoding.catch(() => undefined);
  const engine = await startFeatureEngine(plan, request);
  const random = engine.weights.random ? ', RANDOM weights' : '';
  // Said once the first image is readable, so that a run that draws nothing says only why.
  const notices = [
    ...(plan.preprocessNote ? [`preprocessing: ${plan.preprocessNote}; --preprocess sets another`] : []),
    ...(engine.weights.random ? [`weights: ${engine.weights.description}; the maps show an untrained network`] : []),
  ];
  const lut = colormapLut(options.colormap);
  // A grey heat map over a photo reads as fog: overlays take a colour map unless one is given.
  const overlayLut = colormapLut(options.colormap === 'gray' ? 'inferno' : options.colormap);
  const order: MapOrder = options.top ? 'activity' : options.sort;
  const asked = options.top ?? options.count ?? 64;
  const labels = Boolean(options.labels || order === 'activity');
  if (options.count !== undefined || options.top !== undefined) {
    mapShapes.forEach(([, , c], o) => {
      if (asked > c && Number.isFinite(asked)) events.notice(`${layers[o]} has ${c} maps; drawing ${c}`);
    });
  }

  // An image whose pictures cannot be written is skipped like a broken input; a full disk ends the run.
  const drawn = async (job: ImageJob, image: RgbImage, activations: Float32Array[]): Promise<WrittenFile[]> => {
    const folder = dirname(job.bases[0]);
    let files: Array<Promise<WrittenFile>> = [];
    try {
      if (many) await mkdir(folder, { recursive: true });
      files = pictures(job, image, activations);
      const written = await Promise.all(files);
      if (many) await writeFileAtomic(stampOf(job), new TextEncoder().encode(stamp));
      return written;
    } catch (err) {
      await Promise.allSettled(files); // the image's other writes end (and clean up) first
      const reason = `cannot write in '${folder}': ${fileSystemReason(err)}`;
      if (isDiskFull(err)) throw runtimeError(`${reason}; the run stopped (${written.length} files written before)`);
      return skip(job, runtimeError(reason)) ?? [];
    }
  };

  const watch = nonFiniteWatch(plan, events.notice);
  const pictures = (job: ImageJob, image: RgbImage, activations: Float32Array[]): Array<Promise<WrittenFile>> => {
    const layerStats = activations.map((activation, o) => channelStats(activation, mapShapes[o][2]));
    watch(job.path, layerStats);
    return activations.flatMap((activation, o) => {
      const [h, w, c] = mapShapes[o];
      const base = job.bases[o];
      const stats = layerStats[o];
      const channels = selectChannels(stats, asked, order);
      const mosaic = timedSync('normalize+mosaic', () =>
        featureMapGrid(activation, [h, w, c], {
          channels,
          normalize: options.normalize,
          lut,
          minTile: options.minTile,
          labels,
          stats,
        }),
      );
      const which =
        order === 'activity' ? `the ${channels.length} most active of ${c} maps` : `${channels.length} of ${c} maps`;
      const files = [
        writePng(`${base}.png`, mosaic).then((bytes) => ({
          path: `${base}.png`,
          bytes,
          shows: `${layers[o]} ${h}x${w}: ${which}, normalize ${options.normalize}, ${options.colormap}${random}`,
        })),
      ];
      if (options.overlay) {
        const plane = activationPlane(activation, [h, w, c], options.channel);
        const blended = overlay(image, plane, [h, w], overlayLut, options.alpha);
        const what = `${layers[o]} ${options.channel === undefined ? 'mean over channels' : `channel ${options.channel}`} over the ${input.width}x${input.height} input, alpha ${options.alpha}`;
        files.push(
          writePng(`${base}-overlay.png`, blended).then((bytes) => ({
            path: `${base}-overlay.png`,
            bytes,
            shows: what,
          })),
        );
      }
      if (options.saveNpy) {
        const npy = npyBytes(activation, [h, w, c]);
        const what = `${layers[o]} raw activations float32 (${h}, ${w}, ${c})`;
        files.push(
          writeFileAtomic(`${base}.npy`, npy).then(() => ({ path: `${base}.npy`, bytes: npy.length, shows: what })),
        );
      }
      return files;
    });
  };

  // Encoding of one batch's pictures (on sharp's threads) overlaps the next forward pass; at
  // most two batches of pictures are in memory at once, whatever the number of images.
  let encoding: Promise<WrittenFile[]> = Promise.resolve([]);
  try {
    for (let b = 0; b < batches.length; b++) {
      const decoded = await decoding;
      decoding = b + 1 < batches.length ? Promise.all(batches[b + 1].map(decode)) : Promise.resolve([]);
      decoding.catch(() => undefined);
      const ready = batches[b]
        .map((job, i) => ({ job, image: decoded[i] }))
        .filter((x): x is { job: ImageJob; image: RgbImage } => !!x.image);
      if (ready.length === 0) continue;
      notices.splice(0).forEach(events.notice);
      const activations = await engine.activations(ready.map((x) => x.image));
      const pending = Promise.all(ready.map(({ job, image }, i) => drawn(job, image, activations[i]))).then((lists) =>
        lists.flat(),
      );
      pending.catch(() => undefined); // awaited below, after the next forward pass
      written.push(...(await timed('encode+write', () => encoding)));
      encoding = pending;
      events.progress?.(Math.min(readable.length, (b + 1) * options.batchSize), readable.length);
    }
    written.push(...(await timed('encode+write', () => encoding)));
  } finally {
    // However the run ends, no write is left running (half a file) when the process exits.
    await Promise.allSettled([encoding]);
    await engine.dispose();
  }
  return { written, failures, images: jobs.length, engine: engine.engine, weights: engine.weights.description };
}
