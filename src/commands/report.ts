import { Command, Option } from 'commander';
import { join } from 'node:path';
import type { CommandContext, Runner } from './context.js';
import {
  addModelOptions,
  addPictureOptions,
  countOrAll,
  examples,
  type ModelOptions,
  type PictureOptions,
} from './options.js';
import { reportFiles, withDownloadProgress } from './output.js';
import { PREPROCESS_MODES, type PreprocessMode } from '../image/preprocess.js';
import type { EngineName } from '../engines/backend.js';
import type { ReportOptions as DrawOptions } from '../pipeline/report.js';

interface ReportOptions extends ModelOptions, PictureOptions, DrawOptions {
  blocks?: string;
  layer?: string[];
  preprocess?: PreprocessMode;
}

export function reportCommand(run: Runner): Command {
  const command = new Command('report')
    .description(
      'write a self-contained HTML report: the input, the layer table, the first filters, and the maps of every block',
    )
    .argument('<image>', 'image file')
    .option(
      '-b, --blocks <all|list>',
      'stages to show (default: all, or the first spatial layer for a model without stages)',
    )
    .option('-l, --layer <name|index...>', 'layers by name or index instead of stages')
    .option('-n, --count <n|all>', 'maps per layer', countOrAll, 64)
    .addOption(
      new Option('--normalize <mode>', 'each map on its own range, or one range per layer')
        .choices(['map', 'layer'])
        .default('map'),
    )
    .addOption(
      new Option('--sort <order>', "the first maps ('index') or the most active ('activity')")
        .choices(['index', 'activity'])
        .default('index'),
    )
    .addOption(new Option('--preprocess <mode>', "input scaling; default: the model's own").choices(PREPROCESS_MODES))
    .option(
      '--examples <dir>',
      'link the dataset examples of a `cnnviz examples` run (its -o folder) in a section of their own',
    );
  addModelOptions(addPictureOptions(command, 'colormap for the maps'))
    .addHelpText(
      'after',
      examples([
        'cnnviz report fixtures/cat.jpg -o report/',
        'cnnviz report cat.jpg --sort activity --count 32 --colormap viridis',
        'cnnviz report cat.jpg --examples out/ -o report/',
      ]),
    )
    .action((image: string, options: ReportOptions) => run((ctx) => report(image, options, ctx)));
  return command;
}

async function report(imagePath: string, options: ReportOptions, ctx: CommandContext): Promise<void> {
  const { planFeatures } = await import('../pipeline/features.js');
  const { writeReport } = await import('../pipeline/report.js');
  const { prepareOutputDir } = await import('../output/files.js');
  const { cacheDir } = await import('../weights/resolve.js');
  const plan = await planFeatures({
    ...options,
    engine: ctx.global.backend as EngineName,
    cacheDir: cacheDir(),
    blocks: options.blocks ?? (options.layer ? undefined : 'auto'),
    layers: options.layer,
  });
  plan.model.details.forEach(ctx.report.verbose);
  await prepareOutputDir(options.output);
  const written = await withDownloadProgress(ctx.report, (download) =>
    writeReport(
      plan,
      imagePath,
      options,
      {
        engine: ctx.global.backend as EngineName,
        weights: options.weights,
        onnxCacheDir: join(cacheDir(), 'onnx'),
        explain: ctx.report.verbose,
        notice: ctx.report.notice,
        download,
      },
      { notice: ctx.report.notice },
    ),
  );
  reportFiles(written, false, ctx.report, {});
}
