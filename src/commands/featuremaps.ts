import { Command, Option } from 'commander';
import { basename, extname, join } from 'node:path';
import type { CommandContext, Runner } from './context.js';
import { addModelOptions, addPictureOptions, countOrAll, examples, positiveInt, type ModelOptions, type PictureOptions } from './options.js';
import { prepareOutputDir, withDownloadProgress, reportFiles, type WrittenFile } from './output.js';
import { RESIZE_METHODS, type ResizeMethod } from '../image/resize.js';
import { PREPROCESS_MODES, type PreprocessMode } from '../image/preprocess.js';
import type { MapNormalize } from '../render/featuremaps.js';
import type { EngineName } from '../model/backend.js';
import { timed, timedSync } from '../timings.js';

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
}

export function featuremapsCommand(run: Runner): Command {
  const command = new Command('featuremaps')
    .description('draw the activation maps that images produce at chosen layers, as mosaics (8x8 by default)')
    .argument('<image...>', 'image files (JPEG, PNG, WebP, GIF, TIFF, AVIF)')
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
    .option('--batch-size <n>', 'images per forward pass (1 measured fastest with ONNX Runtime, and bounds memory)', positiveInt, 1);
  addModelOptions(addPictureOptions(command, 'colormap for the maps'))
    .addHelpText(
      'after',
      examples([
        'cnnviz featuremaps fixtures/cat.jpg --blocks all -o out/',
        'cnnviz featuremaps cat.jpg dog.png --layer block3_conv1 9 --count 16 --colormap viridis',
        'cnnviz featuremaps cat.jpg --blocks 1,5 --normalize layer --save-npy --weights none',
      ]),
    )
    .action((images: string[], options: FeaturemapsOptions) => run((ctx) => featuremaps(images, options, ctx)));
  return command;
}

async function featuremaps(images: string[], options: FeaturemapsOptions, ctx: CommandContext): Promise<void> {
  const { resolveArchitecture, resolveWeightsHandle } = await import('../model/load.js');
  const { selectFeatureLayers } = await import('../model/select.js');
  const { imageDims, inferShapes, modelInputShape } = await import('../model/shapes.js');
  const { usageError } = await import('../errors.js');

  // Layers are looked up in the whole model, so that asking for fc1 says "not spatial", not "unknown".
  const full = await resolveArchitecture(options.model, { includeTop: true, size: options.size });
  const layers = selectFeatureLayers(full.graph, { blocks: options.blocks, layers: options.layer, defaultLayer: 'block1_conv1' });
  // The convolutional base needs the small no-top weights file; only the classifier needs the large one.
  const base = full.builtin ? await resolveArchitecture(options.model, { includeTop: false, size: options.size }) : full;
  const arch = layers.every((name) => base.graph.layers.some((l) => l.name === name)) ? base : full;
  const needsTop = arch === full && Boolean(full.builtin);
  const { graph } = arch;
  const shapes = new Map(inferShapes(graph).map((s) => [s.layer.name, s]));

  const [height, width, channels] = imageDims(modelInputShape([...shapes.values()]) ?? [], graph.dataFormat);
  if (typeof height !== 'number' || typeof width !== 'number') {
    throw usageError(`${graph.name} leaves its input size undefined; give one with --size WxH`);
  }
  if (channels !== 3) throw usageError(`${graph.name} takes ${channels}-channel input; cnnviz feeds RGB images (3 channels)`);
  const preprocessing = options.preprocess ?? arch.preprocess;
  if (!options.preprocess && arch.file) ctx.report.notice(`preprocessing: '${preprocessing}' (pixels / 255), the default for model files; --preprocess sets another`);
  await prepareOutputDir(options.output);

  const { checkImage, decodeImage } = await import('../image/decode.js');
  const { resizeImage } = await import('../image/resize.js');
  const { PREPROCESSORS } = await import('../image/preprocess.js');
  const { createForward } = await import('../model/forward.js');
  const { cacheDir } = await import('../model/weights.js');
  const { featureMapGrid } = await import('../render/featuremaps.js');
  const { colormapLut } = await import('../render/colormap.js');
  const { writePng, writeFileAtomic } = await import('../render/files.js');
  const { npyBytes } = await import('../render/npy.js');

  // HDF5's wasm module compiles on background threads meanwhile, in case the weights must be read.
  void import('../model/h5.js').then((h5) => h5.loadH5wasm()).catch(() => undefined);
  // Headers first: a missing or unreadable image fails before weights and the engine are paid for.
  await Promise.all(images.map((path) => checkImage(path)));
  // Decoding runs on sharp's threads while the engine starts on this one.
  const decoding = timed('decode+resize', () =>
    Promise.all(images.map(async (path) => resizeImage(await decodeImage(path), width, height, options.resize))),
  );
  decoding.catch(() => undefined);
  const preprocess = PREPROCESSORS[preprocessing];

  const weights = await timed('weights', () =>
    withDownloadProgress(ctx.report, (progress) =>
      resolveWeightsHandle(arch, options.weights, { layers: graph.layers.map((l) => l.name), includeTop: needsTop, ...progress }),
    ),
  );
  const random = weights.identity?.startsWith('random') ? ', RANDOM weights' : '';
  ctx.report.verbose(`weights: ${weights.description}`);
  const forward = await timed('build', () =>
    createForward(graph, layers, {
      engine: ctx.global.backend as EngineName,
      weights,
      explain: ctx.report.verbose,
      onnxCacheDir: join(cacheDir(), 'onnx'),
    }),
  );
  ctx.report.verbose(`backend: ${forward.engine}`);
  const inputs = await decoding;
  if (random) ctx.report.notice(`weights: ${weights.description}; the maps show an untrained network`);

  const lut = colormapLut(options.colormap);
  const stems = uniqueStems(images);
  const written: WrittenFile[] = [];
  const mapShapes = layers.map((name) => imageDims(shapes.get(name)!.outputShape!, graph.dataFormat) as [number, number, number]);
  const asked = options.count ?? 64;
  mapShapes.forEach(([, , c], o) => {
    if (options.count !== undefined && options.count > c && Number.isFinite(options.count)) ctx.report.notice(`${layers[o]} has ${c} maps; drawing ${c}`);
  });
  // Encoding of one batch's pictures (on sharp's threads) overlaps the next forward pass; at most
  // two batches of pictures are in memory at once.
  let encoding: Promise<WrittenFile[]> = Promise.resolve([]);
  for (let start = 0; start < inputs.length; start += options.batchSize) {
    const batch = inputs.slice(start, start + options.batchSize);
    const pixels = new Float32Array(batch.length * height * width * 3);
    batch.forEach((image, i) => pixels.set(preprocess(image.data), i * height * width * 3));
    const outputs = await timed('forward', () => forward.run(pixels, [batch.length, height, width, 3]));
    const jobs: Array<Promise<WrittenFile>> = [];
    outputs.forEach((output, o) => {
      const [h, w, c] = mapShapes[o];
      const count = Math.min(asked, c);
      batch.forEach((_, i) => {
        const activation = output.subarray(i * h * w * c, (i + 1) * h * w * c);
        const base = join(options.output, `${stems[start + i]}-${layers[o]}`);
        const image = timedSync('normalize+mosaic', () =>
          featureMapGrid(activation, [h, w, c], {
            channels: Array.from({ length: count }, (_, k) => k),
            normalize: options.normalize,
            lut,
            minTile: options.minTile,
          }),
        );
        const shows = `${layers[o]} ${h}x${w}: ${count} of ${c} maps, normalize ${options.normalize}, ${options.colormap}${random}`;
        jobs.push(writePng(`${base}.png`, image).then((bytes) => ({ path: `${base}.png`, bytes, shows })));
        if (options.saveNpy) {
          const npy = npyBytes(activation, [h, w, c]);
          const what = `${layers[o]} raw activations float32 (${h}, ${w}, ${c})`;
          jobs.push(writeFileAtomic(`${base}.npy`, npy).then(() => ({ path: `${base}.npy`, bytes: npy.length, shows: what })));
        }
      });
    });
    written.push(...(await timed('encode+write', () => encoding)));
    encoding = Promise.all(jobs);
  }
  written.push(...(await timed('encode+write', () => encoding)));
  await forward.dispose();
  reportFiles(written, Boolean(options.json), ctx.report, { model: graph.name, weights: weights.description, backend: forward.engine });
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
