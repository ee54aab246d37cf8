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
import { colormapLut, type ColormapName, type Lut } from '../render/colormap.js';
import type { MapShape } from '../net/net.js';
import {
  channelStats,
  featureMapGrid,
  selectChannels,
  type ChannelStats,
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

/** One job per image: where each layer's picture goes (one image: out/<image>-<layer>; many: out/<image>/<layer>). */
function imageJobs(paths: string[], layers: string[], output: string): ImageJob[] {
  const many = paths.length > 1;
  const stems = imageStems(paths);
  const names = layers.map(fileSafe);
  return paths.map((path, i) => ({
    path,
    bases: names.map((layer) =>
      many ? outputPath(output, stems[i], layer) : outputPath(output, `${stems[i]}-${layer}`),
    ),
  }));
}

const stampOf = (job: ImageJob): string => join(dirname(job.bases[0]), STAMP);

/** Whether an image of a batch has every file and a stamp of these options: a rerun skips it. */
function drawnBefore(job: ImageJob, options: FeaturemapsOptions, stamp: string): boolean {
  const expected = job.bases.flatMap((b) => [
    `${b}.png`,
    ...(options.saveNpy ? [`${b}.npy`] : []),
    ...(options.overlay ? [`${b}-overlay.png`] : []),
  ]);
  try {
    return expected.every((f) => existsSync(f)) && readFileSync(stampOf(job), 'utf8') === stamp;
  } catch {
    return false; // no stamp: drawn by an older cnnviz, or interrupted before it was written
  }
}

/** How the maps are drawn, from the options: colour tables, which maps, labels. */
interface PictureStyle {
  lut: Lut;
  overlayLut: Lut;
  order: MapOrder;
  /** Maps per layer (Infinity: all). */
  asked: number;
  labels: boolean;
}

function pictureStyle(options: FeaturemapsOptions): PictureStyle {
  const order: MapOrder = options.top ? 'activity' : options.sort;
  return {
    lut: colormapLut(options.colormap),
    // A grey heat map over a photo reads as fog: overlays take a colour map unless one is given.
    overlayLut: colormapLut(options.colormap === 'gray' ? 'inferno' : options.colormap),
    order,
    asked: options.top ?? options.count ?? 64,
    labels: Boolean(options.labels || order === 'activity'),
  };
}

/** One layer's files for one image: the mosaic, and the overlay and .npy when asked; each a write under way. */
function layerFiles(
  layer: { name: string; shape: MapShape; base: string; activation: Float32Array; stats: ChannelStats },
  image: RgbImage,
  options: FeaturemapsOptions,
  style: PictureStyle,
  random: string,
): Array<Promise<WrittenFile>> {
  const { name, shape, base, activation, stats } = layer;
  const [h, w, c] = shape;
  const channels = selectChannels(stats, style.asked, style.order);
  const mosaic = timedSync('normalize+mosaic', () =>
    featureMapGrid(activation, shape, {
      channels,
      normalize: options.normalize,
      lut: style.lut,
      minTile: options.minTile,
      labels: style.labels,
      stats,
    }),
  );
  const which =
    style.order === 'activity' ? `the ${channels.length} most active of ${c} maps` : `${channels.length} of ${c} maps`;
  const written = (path: string, shows: string) => (bytes: number) => ({ path, bytes, shows });
  const files = [
    writePng(`${base}.png`, mosaic).then(
      written(
        `${base}.png`,
        `${name} ${h}x${w}: ${which}, normalize ${options.normalize}, ${options.colormap}${random}`,
      ),
    ),
  ];
  if (options.overlay) {
    const plane = activationPlane(activation, shape, options.channel);
    const blended = overlay(image, plane, [h, w], style.overlayLut, options.alpha);
    const of = options.channel === undefined ? 'mean over channels' : `channel ${options.channel}`;
    files.push(
      writePng(`${base}-overlay.png`, blended).then(
        written(
          `${base}-overlay.png`,
          `${name} ${of} over the ${image.width}x${image.height} input, alpha ${options.alpha}`,
        ),
      ),
    );
  }
  if (options.saveNpy) {
    const npy = npyBytes(activation, shape);
    files.push(
      writeFileAtomic(`${base}.npy`, npy).then(() =>
        written(`${base}.npy`, `${name} raw activations float32 (${h}, ${w}, ${c})`)(npy.length),
      ),
    );
  }
  return files;
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
  const jobs = imageJobs(paths, layers, options.output);
  // What shapes the pictures: a batch rerun with other options redraws instead of skipping.
  const stamp = JSON.stringify({ pictures: picturesStamp(plan, options, request.weights) });
  // Skipping is for batches (an interrupted run continues); one image is always drawn afresh.
  const todo = options.force || !many ? jobs : jobs.filter((job) => !drawnBefore(job, options, stamp));
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
  // All asked at once (the image worker answers them back to back, not a round trip each), and
  // the unreadable ones skipped in the order given, whichever answer came first.
  const checked = await Promise.allSettled(todo.map((job) => checkImage(job.path)));
  const readable = todo.filter((job, i) => {
    const check = checked[i];
    if (check.status === 'fulfilled') return true;
    skip(job, check.reason);
    return false;
  });
  const decode = (job: ImageJob): Promise<RgbImage | undefined> =>
    timed('decode+resize', async () =>
      resizeImage(await decodeImage(job.path), input.width, input.height, options.resize),
    ).catch((err) => skip(job, err));
  const batches: ImageJob[][] = [];
  for (let i = 0; i < readable.length; i += options.batchSize) batches.push(readable.slice(i, i + options.batchSize));
  const written: WrittenFile[] = [];
  if (batches.length === 0) return { written, failures, images: jobs.length, engine: 'none', weights: request.weights };

  // Decoding runs ahead of the passes under way, on sharp's thread: the first batch decodes
  // while the engine starts on this one.
  const decodes = new Map<number, Promise<Array<RgbImage | undefined>>>();
  const decoded = (b: number): Promise<Array<RgbImage | undefined>> => {
    if (!decodes.has(b)) {
      const decoding = Promise.all(batches[b].map(decode));
      decoding.catch(() => undefined);
      decodes.set(b, decoding);
    }
    return decodes.get(b)!;
  };
  void decoded(0);
  // Several batches: passes side by side (ONNX Runtime sessions in worker threads, the threads
  // shared out), while this thread draws the pictures of the pass before.
  const engine = await startFeatureEngine(plan, { ...request, lanes: batches.length });
  const random = engine.weights.random ? ', RANDOM weights' : '';
  // Said once the first image is readable, so that a run that draws nothing says only why.
  const notices = [
    ...(plan.preprocessNote ? [`preprocessing: ${plan.preprocessNote}; --preprocess sets another`] : []),
    ...(plan.channelsNote ? [plan.channelsNote] : []),
    ...(engine.weights.random ? [`weights: ${engine.weights.description}; the maps show an untrained network`] : []),
  ];
  const style = pictureStyle(options);
  if (options.count !== undefined || options.top !== undefined) {
    mapShapes.forEach(([, , c], o) => {
      if (style.asked > c && Number.isFinite(style.asked)) events.notice(`${layers[o]} has ${c} maps; drawing ${c}`);
    });
  }
  const watch = nonFiniteWatch(plan, events.notice);

  // An image whose pictures cannot be written is skipped like a broken input; a full disk ends the run.
  // `painted` is called once the image's pictures are drawn, or cannot be: nothing reads its activations after.
  const drawn = async (
    job: ImageJob,
    image: RgbImage,
    activations: Float32Array[],
    painted: () => void,
  ): Promise<WrittenFile[]> => {
    const folder = dirname(job.bases[0]);
    let files: Array<Promise<WrittenFile>> = [];
    try {
      try {
        if (many) await mkdir(folder, { recursive: true });
        // Each layer's statistics just before its mosaic, and the mosaic encoded as it is drawn
        // (grey ones on this thread, in WebAssembly; a colour one, an overlay, in the image
        // worker while the later layers are still being drawn here).
        const stats: ChannelStats[] = [];
        files = activations.flatMap((activation, o) => {
          stats.push(channelStats(activation, mapShapes[o][2]));
          return layerFiles(
            { name: layers[o], shape: mapShapes[o], base: job.bases[o], activation, stats: stats[o] },
            image,
            options,
            style,
            random,
          );
        });
        watch(job.path, stats);
      } finally {
        painted();
      }
      const done = await Promise.all(files);
      if (many) await writeFileAtomic(stampOf(job), new TextEncoder().encode(stamp));
      return done;
    } catch (err) {
      await Promise.allSettled(files); // the image's other writes end (and clean up) first
      const reason = `cannot write in '${folder}': ${fileSystemReason(err)}`;
      if (isDiskFull(err)) throw runtimeError(`${reason}; the run stopped (${written.length} files written before)`);
      return skip(job, runtimeError(reason)) ?? [];
    }
  };

  // A batch's forward pass: its images that decoded, and their activations.
  const pass = async (b: number) => {
    // The next lanes' images decode now, not behind the pictures encoding when a lane frees.
    for (let k = b + 1; k <= b + engine.lanes && k < batches.length; k++) void decoded(k);
    const images = await decoded(b);
    decodes.delete(b);
    const ready = batches[b]
      .map((job, i) => ({ job, image: images[i] }))
      .filter((x): x is { job: ImageJob; image: RgbImage } => !!x.image);
    if (ready.length === 0) return { ready, activations: [] };
    notices.splice(0).forEach(events.notice);
    return { ready, activations: await engine.activations(ready.map((x) => x.image)) };
  };
  // Passes run `engine.lanes` at a time, a lane taking the next batch as soon as it is free,
  // up to `ahead` batches beyond the one being drawn (whose activations wait in memory till
  // then); a batch's activations are let go once drawn. After a failed pass none starts.
  const ahead = 2 * engine.lanes;
  const passes = new Map<number, ReturnType<typeof pass>>();
  let [running, next, drawing, failed] = [0, 0, 0, false];
  const startPasses = () => {
    while (!failed && running < engine.lanes && next < batches.length && next < drawing + ahead) {
      const started = pass(next);
      passes.set(next++, started);
      running++;
      started.then(
        () => {
          running--;
          startPasses();
        },
        () => {
          running--;
          failed = true; // said when the loop below reaches it
        },
      );
    }
  };
  startPasses();

  // Encoding of one batch's pictures (on sharp's thread) overlaps the next forward passes; at
  // most two batches of pictures are in memory at once, whatever the number of images.
  let encoding: Promise<WrittenFile[]> = Promise.resolve([]);
  try {
    for (let b = 0; b < batches.length; b++) {
      const { ready, activations } = await passes.get(b)!;
      passes.delete(b);
      drawing = b + 1;
      startPasses();
      if (ready.length === 0) continue;
      // The batch's activations are freed as soon as all its images are painted (they share buffers).
      let unpainted = ready.length;
      const painted = () => {
        if (--unpainted === 0) engine.release(activations);
      };
      const pending = Promise.all(ready.map(({ job, image }, i) => drawn(job, image, activations[i], painted))).then(
        (lists) => lists.flat(),
      );
      pending.catch(() => undefined); // awaited below, after the next forward pass
      // The batch before is awaited with this one already the one under way, so that a failure
      // there (a full disk) still waits below for this batch's writes to end and clean up.
      const before = encoding;
      encoding = pending;
      written.push(...(await timed('encode+write', () => before)));
      events.progress?.(Math.min(readable.length, (b + 1) * options.batchSize), readable.length);
    }
    written.push(...(await timed('encode+write', () => encoding)));
  } finally {
    // However the run ends, no write is left running (half a file) when the process exits,
    // and no pass is left running in a session being released.
    await Promise.allSettled([encoding, ...passes.values()]);
    await engine.dispose();
  }
  return { written, failures, images: jobs.length, engine: engine.engine, weights: engine.weights.description };
}
