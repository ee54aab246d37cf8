import { Command, Option } from 'commander';
import { engineRequest, type CommandContext, type Runner } from './context.js';
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
import type { ReportOptions } from '../pipeline/report.js';
import { cacheDir } from '../config.js';

// The command's work loads when it runs: importing the pipelines (and what they load) at start-up
// costs about 100 ms of every `cnnviz --help` (measured 0.10 s against 0.20 s).

/** The command's flags as commander gives them. */
interface ReportFlags extends ModelOptions, PictureOptions, ReportOptions {
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
    .option('--labels <file>', "class names for the prediction, one a line (ImageNet's built in for 1000 classes)")
    .option(
      '--maximize <dir>',
      'link the pictures of a `cnnviz maximize` run (its -o folder), beside the examples of the same layer',
    )
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
        'cnnviz report cat.jpg --model model.json --examples ex/ --maximize mx/ -o report/',
      ]),
    )
    .action((image: string, options: ReportFlags) => run((ctx) => report(image, options, ctx)));
  return command;
}

async function report(imagePath: string, options: ReportFlags, ctx: CommandContext): Promise<void> {
  const { planFeatures } = await import('../pipeline/features.js');
  const { writeReport } = await import('../pipeline/report.js');
  const plan = await planFeatures({
    ...options,
    engine: ctx.global.backend,
    cacheDir: await cacheDir(),
    blocks: options.blocks ?? (options.layer ? undefined : 'auto'),
    layers: options.layer,
  });
  plan.model.details.forEach(ctx.report.verbose);
  const written = await withDownloadProgress(ctx.report, async (download) =>
    writeReport(plan, imagePath, options, await engineRequest(ctx, options.weights, download), {
      notice: ctx.report.notice,
    }),
  );
  reportFiles(written, false, ctx.report, {});
}
