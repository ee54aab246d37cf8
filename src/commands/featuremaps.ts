import { Command, Option } from 'commander';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import type { CommandContext, Runner } from './context.js';
import { addModelOptions, addPictureOptions, countOrAll, examples, nonNegativeInt, positiveInt, unitInterval, type ModelOptions, type PictureOptions } from './options.js';
import { prepareOutputDir, withDownloadProgress, reportFiles, type WrittenFile } from './output.js';
import { RESIZE_METHODS, type ResizeMethod } from '../image/resize.js';
import { PREPROCESS_MODES, type PreprocessMode } from '../image/preprocess.js';
import type { MapNormalize, MapOrder } from '../render/featuremaps.js';
import type { EngineName } from '../engines/backend.js';
import { timed, timedSync } from '../timings.js';
import type { RgbImage } from '../image/decode.js';

interface FeaturemapsOptions extends ModelOptions, PictureOptions {
  blocks?: string;
  layer?: string[];
  count?: number;
  normalize: MapNormalize;
  resize: ResizeMethod;
  preprocess?: PreprocessMode;
  size?: [number, number];
  saveNpy?: boolean;
  minTile: number;
  batchSize: number;
  sort: MapOrder;
  top?: number;
  labels?: boolean;
  overlay?: boolean;
  channel?: number;
  alpha: number;
  force?: boolean;
}

export function featuremapsCommand(run: Runner): Command {
  const command = new Command('featuremaps')
    .description('draw the activation maps that images produce at chosen layers, as mosaics (8x8 by default)')
    .argument('<image...>', 'image files (JPEG, PNG, WebP, GIF, TIFF, AVIF), or folders to search for them')
    .option('-b, --blocks <all|list>', "the last conv of each block ('all'), or of blocks by number, e.g. 1,3,5")
    .option('-l, --layer <name|index...>', 'layers by name or Keras index (default: block1_conv1)')
    .option('-n, --count <n|all>', 'how many maps per layer, from the first (default: 64, an 8x8 grid)', countOrAll)
    .addOption(
      new Option('--normalize <mode>', "each map on its own range ('map', as pyplot), or one range per layer")
        .choices(['map', 'layer'])
        .default('map'),
    )
    .addOption(new Option('--resize <method>', 'how the image is brought to the input size').choices(RESIZE_METHODS).default('nearest'))
    .addOption(
      new Option('--preprocess <mode>', "input scaling: caffe (BGR minus ImageNet means), tf ([-1, 1]), torch, unit ([0, 1]), none; default: the model's own")
        .choices(PREPROCESS_MODES),
    )
    .option('--save-npy', 'also write each layer\'s raw float32 activations (H, W, C) as NumPy .npy')
    .option('--min-tile <px>', 'enlarge smaller maps to at least this many pixels', positiveInt, 64)
    .option('--batch-size <n>', 'images per forward pass (1 measured fastest with ONNX Runtime, and bounds memory)', positiveInt, 1)
    .addOption(new Option('--sort <order>', "which maps: the first ('index') or the most active ('activity', strongest first)").choices(['index', 'activity']).default('index'))
    .option('--top <n>', 'the n most active maps (same as --sort activity --count n), each labelled', positiveInt)
    .option('--labels', 'draw the channel index on every tile')
    .option('--overlay', "also lay the layer's mean activation over the input image")
    .option('--channel <k>', 'with --overlay: one channel instead of the mean', nonNegativeInt)
    .option('--alpha <a>', 'with --overlay: opacity of the heat map, 0 to 1', unitInterval, 0.5)
    .option('--force', 'redo images whose pictures exist already (by default they are skipped)');
  addModelOptions(addPictureOptions(command, 'colormap for the maps'))
    .addHelpText(
      'after',
      examples([
        'cnnviz featuremaps fixtures/cat.jpg --blocks all -o out/',
        'cnnviz featuremaps cat.jpg dog.png --layer block3_conv1 9 --count 16 --colormap viridis',
        'cnnviz featuremaps cat.jpg --blocks 1,5 --normalize layer --save-npy --weights none',
        'cnnviz featuremaps photos/ --blocks all --top 16 --overlay -o out/',
      ]),
    )
    .action((images: string[], options: FeaturemapsOptions) => run((ctx) => featuremaps(images, options, ctx)));
  return command;
}

interface ImageJob {
  path: string;
  /** Output path without extension, per layer. */
  bases: string[];
}

async function featuremaps(args: string[], options: FeaturemapsOptions, ctx: CommandContext): Promise<void> {
  const { planFeatures, startFeatureEngine } = await import('../pipeline/features.js');
  const { listImages } = await import('../image/files.js');
  const { usageError, runtimeError, messageOf } = await import('../errors.js');

  const plan = await planFeatures({ ...options, layers: options.layer });
  const { graph, layers, mapShapes, input } = plan;
  if (!options.preprocess && plan.arch.file) ctx.report.notice(`preprocessing: '${plan.preprocessing}' (pixels / 255), the default for model files; --preprocess sets another`);
  if (options.channel !== undefined && !options.overlay) throw usageError('--channel goes with --overlay');
  const overChannel = mapShapes.find(([, , c]) => options.channel !== undefined && options.channel >= c);
  if (overChannel) throw usageError(`--channel ${options.channel}: a chosen layer has only ${overChannel[2]} channels`);

  // HDF5's wasm module compiles on background threads meanwhile, in case the weights must be read.
  void import('../weights/h5.js').then((h5) => h5.loadH5wasm()).catch(() => undefined);
  const { checkImage, decodeImage } = await import('../image/decode.js');
  const { resizeImage } = await import('../image/resize.js');
  const { cacheDir } = await import('../weights/resolve.js');
  const { featureMapGrid, channelStats, selectChannels } = await import('../render/featuremaps.js');
  const { activationPlane, overlay } = await import('../render/overlay.js');
  const { colormapLut } = await import('../render/colormap.js');
  const { writePng, writeFileAtomic } = await import('../output/files.js');
  const { npyBytes } = await import('../output/npy.js');

  const paths = await listImages(args);
  if (paths.length === 0) throw usageError(`no image files in ${args.join(', ')}`);
  const many = paths.length > 1;
  await prepareOutputDir(options.output);
  // One image: out/<image>-<layer>.png, as the tutorial's pictures; many: a folder each.
  const stems = uniqueStems(paths);
  const jobs: ImageJob[] = paths.map((path, i) => ({
    path,
    bases: layers.map((layer) => (many ? join(options.output, stems[i], layer) : join(options.output, `${stems[i]}-${layer}`))),
  }));
  const expected = (job: ImageJob) => job.bases.flatMap((b) => [`${b}.png`, ...(options.saveNpy ? [`${b}.npy`] : []), ...(options.overlay ? [`${b}-overlay.png`] : [])]);
  // Skipping is for batches (an interrupted run continues); one image is always drawn afresh.
  const todo = options.force || !many ? jobs : jobs.filter((job) => !expected(job).every((f) => existsSync(f)));
  if (todo.length < jobs.length) ctx.report.notice(`${jobs.length - todo.length} of ${jobs.length} images already have their pictures; skipped (--force redoes them)`);

  // Headers first: a missing or unreadable image fails before weights and the engine are paid for.
  const failures: string[] = [];
  const readable: ImageJob[] = [];
  for (const job of todo) {
    try {
      await checkImage(job.path);
      readable.push(job);
    } catch (err) {
      if (!many) throw err;
      failures.push(`${job.path}: ${messageOf(err)}`);
      ctx.report.notice(`skipping ${job.path}: ${messageOf(err)}`);
    }
  }
  const decode = (job: ImageJob): Promise<RgbImage | undefined> =>
    timed('decode+resize', async () => resizeImage(await decodeImage(job.path), input.width, input.height, options.resize)).catch((err) => {
      if (!many) throw err;
      failures.push(`${job.path}: ${messageOf(err)}`);
      ctx.report.notice(`skipping ${job.path}: ${messageOf(err)}`);
      return undefined;
    });
  const batches: ImageJob[][] = [];
  for (let i = 0; i < readable.length; i += options.batchSize) batches.push(readable.slice(i, i + options.batchSize));
  // The first batch decodes on sharp's threads while the engine starts on this one.
  let decoding = batches.length > 0 ? Promise.all(batches[0].map(decode)) : Promise.resolve([]);
  decoding.catch(() => undefined);

  const written: WrittenFile[] = [];
  let engineName = 'none';
  let weightsDescription = options.weights;
  if (batches.length > 0) {
    const engine = await withDownloadProgress(ctx.report, (download) =>
      startFeatureEngine(plan, {
        engine: ctx.global.backend as EngineName,
        weights: options.weights,
        onnxCacheDir: join(cacheDir(), 'onnx'),
        explain: ctx.report.verbose,
        download,
      }),
    );
    engineName = engine.forward.engine;
    weightsDescription = engine.weights.description;
    const random = engine.weights.identity?.startsWith('random') ? ', RANDOM weights' : '';
    const lut = colormapLut(options.colormap);
    // A grey heat map over a photo reads as fog: overlays take a colour map unless one is given.
    const overlayLut = colormapLut(options.colormap === 'gray' ? 'inferno' : options.colormap);
    const order: MapOrder = options.top ? 'activity' : options.sort;
    const asked = options.top ?? options.count ?? 64;
    const labels = Boolean(options.labels || order === 'activity');
    if (options.count !== undefined || options.top !== undefined) {
      mapShapes.forEach(([, , c], o) => {
        if (asked > c && Number.isFinite(asked)) ctx.report.notice(`${layers[o]} has ${c} maps; drawing ${c}`);
      });
    }
    const progress = many ? await imageProgress(ctx, readable.length) : undefined;
    let randomNoticed = false;
    // Encoding of one batch's pictures (on sharp's threads) overlaps the next forward pass; at
    // most two batches of pictures are in memory at once, whatever the number of images.
    let encoding: Promise<WrittenFile[]> = Promise.resolve([]);
    for (let b = 0; b < batches.length; b++) {
      const decoded = await decoding;
      decoding = b + 1 < batches.length ? Promise.all(batches[b + 1].map(decode)) : Promise.resolve([]);
      decoding.catch(() => undefined);
      if (random && !randomNoticed) {
        ctx.report.notice(`weights: ${engine.weights.description}; the maps show an untrained network`);
        randomNoticed = true;
      }
      const ready = batches[b].map((job, i) => ({ job, image: decoded[i] })).filter((x): x is { job: ImageJob; image: RgbImage } => !!x.image);
      if (ready.length === 0) continue;
      const activations = await engine.activations(ready.map((x) => x.image));
      const pending: Array<Promise<WrittenFile>> = [];
      if (many) await Promise.all(ready.map(({ job }) => mkdir(dirname(job.bases[0]), { recursive: true })));
      ready.forEach(({ job, image }, i) => {
        activations[i].forEach((activation, o) => {
          const [h, w, c] = mapShapes[o];
          const base = job.bases[o];
          const stats = channelStats(activation, c);
          const channels = selectChannels(stats, asked, order);
          const mosaic = timedSync('normalize+mosaic', () =>
            featureMapGrid(activation, [h, w, c], { channels, normalize: options.normalize, lut, minTile: options.minTile, labels, stats }),
          );
          const which = order === 'activity' ? `the ${channels.length} most active of ${c} maps` : `${channels.length} of ${c} maps`;
          const shows = `${layers[o]} ${h}x${w}: ${which}, normalize ${options.normalize}, ${options.colormap}${random}`;
          pending.push(writePng(`${base}.png`, mosaic).then((bytes) => ({ path: `${base}.png`, bytes, shows })));
          if (options.overlay) {
            const plane = activationPlane(activation, [h, w, c], options.channel);
            const blended = overlay(image, plane, [h, w], overlayLut, options.alpha);
            const what = `${layers[o]} ${options.channel === undefined ? 'mean over channels' : `channel ${options.channel}`} over the ${input.width}x${input.height} input, alpha ${options.alpha}`;
            pending.push(writePng(`${base}-overlay.png`, blended).then((bytes) => ({ path: `${base}-overlay.png`, bytes, shows: what })));
          }
          if (options.saveNpy) {
            const npy = npyBytes(activation, [h, w, c]);
            const what = `${layers[o]} raw activations float32 (${h}, ${w}, ${c})`;
            pending.push(writeFileAtomic(`${base}.npy`, npy).then(() => ({ path: `${base}.npy`, bytes: npy.length, shows: what })));
          }
        });
      });
      written.push(...(await timed('encode+write', () => encoding)));
      encoding = Promise.all(pending);
      progress?.update(Math.min(readable.length, (b + 1) * options.batchSize));
    }
    written.push(...(await timed('encode+write', () => encoding)));
    progress?.stop();
    await engine.dispose();
  }
  reportFiles(written, Boolean(options.json), ctx.report, { model: graph.name, weights: weightsDescription, backend: engineName, failed: failures });
  if (failures.length > 0) {
    throw runtimeError(`${failures.length} of ${jobs.length} images failed (${failures.map((f) => f.split(': ')[0]).join(', ')}); the others were drawn`);
  }
}

/** Images done, with ETA: a bar on a terminal, nothing in logs (the file list follows). */
async function imageProgress(ctx: CommandContext, total: number): Promise<{ update(done: number): void; stop(): void } | undefined> {
  if (!ctx.report.interactive) return undefined;
  const { SingleBar } = await import('cli-progress');
  const bar = new SingleBar({ format: '  {bar} {value}/{total} images | ETA {eta_formatted}', stream: process.stderr, hideCursor: true });
  bar.start(total, 0);
  return { update: (done) => bar.update(done), stop: () => bar.stop() };
}

/** File stems for the outputs; two inputs with one name get -2, -3 ... */
function uniqueStems(paths: string[]): string[] {
  const seen = new Map<string, number>();
  return paths.map((p) => {
    const stem = basename(p, extname(p));
    const n = (seen.get(stem) ?? 0) + 1;
    seen.set(stem, n);
    return n === 1 ? stem : `${stem}-${n}`;
  });
}
