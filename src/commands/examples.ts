import { Command, Option } from 'commander';
import { engineRequest, type CommandContext, type Runner } from './context.js';
import { addModelOptions, examples as helpExamples, intInRange, positiveInt, type ModelOptions } from './options.js';
import { TILE_RANGE } from '../render/examples.js';
import { imageProgress, reportFiles, withDownloadProgress } from './output.js';
import { RESIZE_METHODS, type ResizeMethod } from '../image/resize.js';
import { PREPROCESS_MODES, type PreprocessMode } from '../image/preprocess.js';
import { basename } from 'node:path';
import { cacheDir } from '../config.js';
import { runtimeError, usageError } from '../errors.js';

// The command's work loads when it runs: importing the pipelines (and what they load) at start-up
// costs about 100 ms of every `cnnviz --help` (measured 0.10 s against 0.20 s).

/** The command's flags as commander gives them. */
interface ExamplesFlags extends ModelOptions {
  layer?: string;
  channels?: string;
  top: number;
  score: 'max' | 'mean';
  context?: boolean;
  tile: number;
  shard?: string;
  merge?: string[];
  saveEvery: number;
  resize: ResizeMethod;
  preprocess?: PreprocessMode;
  output: string;
  json?: boolean;
}

export function examplesCommand(run: Runner): Command {
  const command = new Command('examples')
    .description(
      'find what each channel of a layer responds to: over a collection of images, the crops that excite it most',
    )
    .argument('[images...]', 'image files, or folders to search for them')
    .option('-l, --layer <name|index>', 'the layer, by name or index as summary lists them')
    .option('--channels <list|all>', "channels and ranges like 0-15,32, or 'all' (default: the first 64)")
    .option('--top <n>', 'examples per channel', positiveInt, 9)
    .addOption(
      new Option('--score <how>', "an image's score for a channel: the largest activation of its map, or the mean")
        .choices(['max', 'mean'])
        .default('max'),
    )
    .option('--context', 'also show each whole image, the field outlined')
    .option(
      '--tile <px>',
      `pixels on a side of each example as drawn (${TILE_RANGE[0]} to ${TILE_RANGE[1]})`,
      intInRange(...TILE_RANGE),
      96,
    )
    .option(
      '--shard <i/n>',
      'take part i of n of the image list (i from 0) and leave its state for --merge, no pictures',
    )
    .option('--merge <folders...>', 'draw from the states of finished shards (their -o folders)')
    .option('--save-every <n>', 'save the state after every n images (a rerun continues from it)', positiveInt, 50)
    .addOption(
      new Option('--resize <method>', 'how images are brought to the input size')
        .choices(RESIZE_METHODS)
        .default('nearest'),
    )
    .addOption(new Option('--preprocess <mode>', "input scaling; default: the model's own").choices(PREPROCESS_MODES))
    .option('-o, --output <dir>', 'output folder (the pictures go to <dir>/<layer>/)', 'out')
    .option('--json', 'list the written files as JSON');
  addModelOptions(command)
    .addHelpText(
      'after',
      helpExamples([
        'cnnviz examples photos/ --layer block4_conv3 --channels 0-15 -o out/',
        'cnnviz examples photos/ --layer block4_conv3 --shard 0/3 -o out/shard-0',
        'cnnviz examples --merge out/shard-*/ -o out/',
      ]),
    )
    .action((images: string[], options: ExamplesFlags) => run((ctx) => examples(images, options, ctx)));
  return command;
}

async function examples(args: string[], options: ExamplesFlags, ctx: CommandContext): Promise<void> {
  const { prepareOutputDir } = await import('../output/files.js');
  const run = await import('../pipeline/examples/run.js');
  if (options.merge) {
    if (args.length) throw usageError('--merge draws from shards; give no images with it');
    if (options.shard) throw usageError('--merge and --shard do not go together');
    const { written, state, shards } = await run.mergeExamples(options.merge, options.output, options.layer);
    reportFiles(written, Boolean(options.json), ctx.report, {
      model: state.settings.model,
      shards,
      images: state.scored,
    });
    return;
  }
  if (args.length === 0) throw usageError('give images or folders of images (or --merge shard folders)');
  if (!options.layer) throw usageError("--layer: which layer's channels (summary lists the layers)");
  const { parseShard } = await import('../pipeline/examples/state.js');
  const shard = options.shard === undefined ? null : parseShard(options.shard);
  const { listImages } = await import('../image/files.js');
  const plan = await run.planExamples({
    ...options,
    engine: ctx.global.backend,
    cacheDir: await cacheDir(),
    layer: options.layer,
  });
  plan.features.model.details.forEach(ctx.report.verbose);
  const paths = await listImages(args);
  if (paths.length === 0) throw usageError(`no image files in ${args.join(', ')}`);
  // One image named on the command line: a bad one is the user's to fix, before any work.
  if (paths.length === 1) await (await import('../image/decode.js')).checkImage(paths[0]);
  await prepareOutputDir(options.output);
  if (plan.features.preprocessNote)
    ctx.report.notice(`preprocessing: ${plan.features.preprocessNote}; --preprocess sets another`);

  const progress = await imageProgress(ctx.report);
  const weights = ['imagenet', 'none'].includes(options.weights) ? options.weights : basename(options.weights);
  const { written, state } = await withDownloadProgress(ctx.report, async (download) =>
    run
      .runExamples(
        plan,
        paths,
        { ...options, channels: plan.channels, shard, weights, context: Boolean(options.context) },
        await engineRequest(ctx, options.weights, download),
        { notice: ctx.report.notice, progress: progress.update },
      )
      .finally(() => progress.stop()),
  );
  reportFiles(written, Boolean(options.json), ctx.report, {
    model: plan.features.net.name,
    images: state.scored,
    failed: state.failed,
  });
  if (state.failed.length > 0) {
    throw runtimeError(
      `${state.failed.length} of ${state.slice[1] - state.slice[0]} images failed (${state.failed.map((f) => f.split(': ')[0]).join(', ')}); the others were scored`,
    );
  }
}
