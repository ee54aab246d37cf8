import { Command, Option } from 'commander';
import { engineRequest, type CommandContext, type Runner } from './context.js';
import {
  addModelOptions,
  addPictureOptions,
  countOrAll,
  examples,
  nonNegativeInt,
  positiveInt,
  unitInterval,
  type ModelOptions,
  type PictureOptions,
} from './options.js';
import { imageProgress, imagesToDraw, reportFiles, withDownloadProgress } from './output.js';
import { RESIZE_METHODS } from '../image/resize.js';
import { PREPROCESS_MODES, type PreprocessMode } from '../image/preprocess.js';
import type { FeaturemapsOptions } from '../pipeline/featuremaps.js';
import { cacheDir } from '../config.js';
import { triesOnnx } from '../engines/backend.js';
import { runtimeError, usageError } from '../errors.js';

// The command's work loads when it runs: importing the pipelines (and what they load) at start-up
// costs about 100 ms of every `cnnviz --help` (measured 0.10 s against 0.20 s).

/** The command's flags as commander gives them. */
interface FeaturemapsFlags extends ModelOptions, PictureOptions, FeaturemapsOptions {
  blocks?: string;
  layer?: string[];
  preprocess?: PreprocessMode;
}

export function featuremapsCommand(run: Runner): Command {
  const command = new Command('featuremaps')
    .description('draw the activation maps that images produce at chosen layers, as mosaics (8x8 by default)')
    .argument('<image...>', 'image files (JPEG, PNG, WebP, GIF, TIFF, AVIF), or folders to search for them')
    .option(
      '-b, --blocks <all|list>',
      "the end of each stage ('all': the last layer at each resolution, e.g. VGG's block1_conv2 ... block5_conv3), or stages by number, e.g. 1,3,5",
    )
    .option(
      '-l, --layer <name|index...>',
      'layers by name or index, as summary lists them (default: block1_conv1, else the first spatial layer)',
    )
    .option('-n, --count <n|all>', 'how many maps per layer, from the first (default: 64, an 8x8 grid)', countOrAll)
    .addOption(
      new Option('--normalize <mode>', "each map on its own range ('map', as pyplot), or one range per layer")
        .choices(['map', 'layer'])
        .default('map'),
    )
    .addOption(
      new Option('--resize <method>', 'how the image is brought to the input size')
        .choices(RESIZE_METHODS)
        .default('nearest'),
    )
    .addOption(
      new Option(
        '--preprocess <mode>',
        "input scaling: caffe (BGR minus ImageNet means), tf ([-1, 1]), torch, unit ([0, 1]), none; default: the model's own",
      ).choices(PREPROCESS_MODES),
    )
    .option('--save-npy', "also write each layer's raw float32 activations (H, W, C) as NumPy .npy")
    .option('--min-tile <px>', 'enlarge smaller maps to at least this many pixels', positiveInt, 64)
    .option(
      '--batch-size <n>',
      'images per forward pass (1 measured fastest with ONNX Runtime, and bounds memory)',
      positiveInt,
      1,
    )
    .addOption(
      new Option('--sort <order>', "which maps: the first ('index') or the most active ('activity', strongest first)")
        .choices(['index', 'activity'])
        .default('index'),
    )
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
    .action((images: string[], options: FeaturemapsFlags) => run((ctx) => featuremaps(images, options, ctx)));
  return command;
}

async function featuremaps(args: string[], options: FeaturemapsFlags, ctx: CommandContext): Promise<void> {
  const { planFeatures } = await import('../pipeline/features.js');
  const { drawFeatureMaps } = await import('../pipeline/featuremaps.js');

  const plan = await planFeatures({
    ...options,
    engine: ctx.global.backend,
    cacheDir: await cacheDir(),
    layers: options.layer,
  });
  plan.model.details.forEach(ctx.report.verbose);
  if (options.channel !== undefined && !options.overlay) throw usageError('--channel goes with --overlay');
  const overChannel = plan.mapShapes.find(([, , c]) => options.channel !== undefined && options.channel >= c);
  if (overChannel) throw usageError(`--channel ${options.channel}: a chosen layer has only ${overChannel[2]} channels`);
  // A single missing or broken image fails before the output folder is made.
  const paths = await imagesToDraw(args, options.output, ctx);
  // Several batches run in lanes: their threads set ONNX Runtime up while the images are checked.
  const batches = Math.ceil(paths.length / options.batchSize);
  if (batches > 1 && triesOnnx(ctx.global.backend)) (await import('../engines/onnx-lanes.js')).prestartLanes(batches);

  const progress = paths.length > 1 ? await imageProgress(ctx.report) : undefined;
  const result = await withDownloadProgress(ctx.report, async (download) =>
    drawFeatureMaps(plan, paths, options, await engineRequest(ctx, options.weights, download), {
      notice: ctx.report.notice,
      progress: progress?.update,
    }).finally(() => progress?.stop()),
  );
  const { written, failures } = result;
  reportFiles(written, Boolean(options.json), ctx.report, {
    model: plan.net.name,
    weights: result.weights,
    backend: result.engine,
    failed: failures,
  });
  if (failures.length > 0) {
    throw runtimeError(
      `${failures.length} of ${result.images} images failed (${failures.map((f) => f.split(': ')[0]).join(', ')}); the others were drawn`,
    );
  }
}
