import { Command, Option } from 'commander';
import { join } from 'node:path';
import type { CommandContext, Runner } from './context.js';
import { addModelOptions, addPictureOptions, countOrAll, examples, positiveInt, type ModelOptions, type PictureOptions } from './options.js';
import { reportFiles, withDownloadProgress } from './output.js';
import type { KernelNormalize } from '../render/kernels.js';
import { timed } from '../timings.js';

interface FiltersOptions extends ModelOptions, PictureOptions {
  layer?: string;
  count: number;
  channels: number;
  normalize: KernelNormalize;
  rgb?: boolean;
  cell: number;
}

export function filtersCommand(run: Runner): Command {
  const command = new Command('filters')
    .description("draw a conv layer's learned kernels: one row per filter, one column per input channel")
    .option('-l, --layer <name|index>', 'convolutional layer, by name or index (default: the first convolution)')
    .option('-n, --count <n|all>', 'how many filters (rows), from the first', countOrAll, 6)
    .option('-c, --channels <n|all>', 'how many input channels (columns), from the first', countOrAll, 3)
    .addOption(
      new Option('--normalize <mode>', 'min-max over the whole layer, each filter, or each tile')
        .choices(['layer', 'filter', 'channel'])
        .default('layer'),
    )
    .option('--rgb', 'draw each filter of a 3-channel layer as one colour tile')
    .option('--cell <px>', 'pixels per kernel tile side', positiveInt, 32);
  addModelOptions(addPictureOptions(command, 'colormap for the tiles'))
    .addHelpText(
      'after',
      examples([
        'cnnviz filters --layer block1_conv1 --count 6 -o out/',
        'cnnviz filters --layer block1_conv2 --count 16 --channels all --normalize filter',
        'cnnviz filters --rgb --count 64 --weights none',
      ]),
    )
    .action((options: FiltersOptions) => run((ctx) => filters(options, ctx)));
  return command;
}

async function filters(options: FiltersOptions, ctx: CommandContext): Promise<void> {
  const { openModel } = await import('../formats/model.js');
  const { findLayer } = await import('../net/lookup.js');
  const { isConvolution } = await import('../net/net.js');
  const { filterPicture } = await import('../pipeline/filters.js');
  const { prepareOutputDir, writePng } = await import('../output/files.js');
  const { fileSafe } = await import('../output/names.js');
  const { warmUpH5 } = await import('../weights/h5.js');
  const { usageError } = await import('../errors.js');

  warmUpH5();
  const { cacheDir } = await import('../weights/resolve.js');
  const model = await openModel(options.model, { includeTop: false, size: options.size, cacheDir: cacheDir() });
  model.checkChoices({ weights: options.weights });
  model.details.forEach(ctx.report.verbose);
  const convs = model.net.layers.filter(isConvolution);
  const layerRef = options.layer ?? convs[0]?.name;
  if (!layerRef) throw usageError(`${model.net.name} has no convolutional layers, so no filters to draw`);
  const layer = findLayer(model.net, layerRef, convs, 'convolutional layer');
  await prepareOutputDir(options.output);

  const { kernel, weights } = await withDownloadProgress(ctx.report, (download) => model.readKernel(layer.name, { weights: options.weights, download }));
  ctx.report.verbose(`weights: ${weights.description}`);
  const [, , cin, cout] = kernel.shape;
  for (const [asked, available, what] of [[options.count, cout, 'filters'], [options.rgb ? 3 : options.channels, cin, 'input channels']] as const) {
    if (asked > available && Number.isFinite(asked)) ctx.report.notice(`${layer.name} has ${available} ${what}; drawing ${available}`);
  }
  if (options.rgb && cin !== 3) throw usageError(`--rgb needs a layer with 3 input channels; ${layer.name} has ${cin}`);
  const picture = filterPicture(layer.name, kernel, { ...options, count: options.count, channels: options.channels, bgr: model.bgr });
  const path = join(options.output, `filters-${fileSafe(layer.name)}${options.rgb ? '-rgb' : ''}.png`);
  const bytes = await timed('encode+write', () => writePng(path, picture.image));
  if (weights.random) ctx.report.notice(`weights: ${weights.description}; the kernels are not learned`);
  const shows = `${picture.shows}${weights.random ? ', RANDOM weights' : ''}`;
  reportFiles([{ path, bytes, shows }], Boolean(options.json), ctx.report, { model: model.net.name, weights: weights.description });
}
