import { Command, Option } from 'commander';
import { join } from 'node:path';
import type { CommandContext, Runner } from './context.js';
import { addModelOptions, addPictureOptions, countOrAll, examples, positiveInt, type ModelOptions, type PictureOptions } from './options.js';
import { prepareOutputDir, withDownloadProgress, reportFiles } from './output.js';
import type { KernelNormalize, KernelShape } from '../render/kernels.js';
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
    .option('-l, --layer <name|index>', 'convolutional layer, by name or Keras index (default: block1_conv1, else the first conv)')
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
  const { resolveArchitecture, loadWeights, layerWeightArrays } = await import('../formats/model.js');
  const { findLayer } = await import('../formats/keras/graph.js');
  const { isConvolution } = await import('../formats/keras/shapes.js');
  const { filterGrid } = await import('../render/kernels.js');
  const { colormapLut } = await import('../render/colormap.js');
  const { writePng } = await import('../output/files.js');
  const { usageError } = await import('../errors.js');

  // HDF5's wasm module compiles on background threads while the architecture is resolved.
  void import('../weights/h5.js').then((h5) => h5.loadH5wasm()).catch(() => undefined);
  const arch = await resolveArchitecture(options.model, { includeTop: false, size: options.size });
  const convs = arch.graph.layers.filter(isConvolution);
  const layerRef = options.layer ?? (arch.graph.layers.some((l) => l.name === 'block1_conv1') ? 'block1_conv1' : convs[0]?.name);
  if (!layerRef) throw usageError(`${arch.graph.name} has no convolutional layers`);
  const layer = findLayer(arch.graph, layerRef, convs, 'convolutional layer');
  await prepareOutputDir(options.output);

  const loaded = await timed('weights', () =>
    withDownloadProgress(ctx.report, (progress) => loadWeights(arch, options.weights, { layers: [layer.name], includeTop: false, ...progress })),
  );
  ctx.report.verbose(`weights: ${loaded.description}`);
  const [kernel] = await layerWeightArrays(arch, layer.name, loaded);
  const shape = kernel.shape as KernelShape;
  const [kh, kw, cin, cout] = shape;

  const clamp = (asked: number, available: number, what: string): number => {
    if (asked > available && Number.isFinite(asked)) ctx.report.notice(`${layer.name} has ${available} ${what}; drawing ${available}`);
    return Math.min(asked, available);
  };
  const count = clamp(options.count, cout, 'filters');
  if (options.rgb && cin !== 3) throw usageError(`--rgb needs a layer with 3 input channels; ${layer.name} has ${cin}`);
  const channels = options.rgb ? 3 : clamp(options.channels, cin, 'input channels');
  // Keras' VGG weights expect caffe input: channel 0 is blue, so colour tiles reverse it.
  const bgr = arch.builtin?.preprocess === 'caffe';
  const image = filterGrid(kernel.data, shape, {
    filters: count,
    channels,
    normalize: options.normalize,
    lut: colormapLut(options.colormap),
    cell: options.cell,
    rgb: options.rgb,
    bgr,
  });
  const suffix = options.rgb ? '-rgb' : '';
  const path = join(options.output, `filters-${layer.name}${suffix}.png`);
  const bytes = await timed('encode+write', () => writePng(path, image));
  const random = loaded.weights === 'random' ? ', RANDOM weights' : '';
  const shows = options.rgb
    ? `${layer.name} kernel ${kh}x${kw}x${cin}x${cout}: ${count} filters as colour tiles (channels stored ${bgr ? 'B,G,R; shown as R,G,B' : 'R,G,B'}), normalize ${options.normalize}${random}`
    : `${layer.name} kernel ${kh}x${kw}x${cin}x${cout}: ${count} filters (rows) x ${channels} input channels (columns), normalize ${options.normalize}, ${options.colormap}${random}`;
  if (loaded.weights === 'random') ctx.report.notice(`weights: ${loaded.description}; the kernels are not learned`);
  reportFiles([{ path, bytes, shows }], Boolean(options.json), ctx.report, { model: arch.graph.name, weights: loaded.description });
}
