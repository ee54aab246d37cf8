import { Command, Option } from 'commander';
import type { CommandContext, Runner } from './context.js';
import {
  addModelOptions,
  addPictureOptions,
  countOrAll,
  examples,
  positiveInt,
  type ModelOptions,
  type PictureOptions,
} from './options.js';
import { reportFiles, withDownloadProgress } from './output.js';
import type { KernelNormalize } from '../render/kernels.js';
import { cacheDir } from '../config.js';

// The command's work loads when it runs: importing the pipelines (and what they load) at start-up
// costs about 100 ms of every `cnnviz --help` (measured 0.10 s against 0.20 s).

/** The command's flags as commander gives them. */
interface FiltersFlags extends ModelOptions, PictureOptions {
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
    .action((options: FiltersFlags) => run((ctx) => filters(options, ctx)));
  return command;
}

async function filters(options: FiltersFlags, ctx: CommandContext): Promise<void> {
  const { drawFilters } = await import('../pipeline/filters.js');
  const result = await withDownloadProgress(ctx.report, async (download) =>
    drawFilters(
      { ...options, cacheDir: await cacheDir(), download },
      { notice: ctx.report.notice, verbose: ctx.report.verbose },
    ),
  );
  reportFiles([result.file], Boolean(options.json), ctx.report, { model: result.model, weights: result.weights });
}
