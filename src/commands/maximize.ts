import { Command, Option } from 'commander';
import { cacheDir } from '../config.js';
import { PREPROCESS_MODES, type PreprocessMode } from '../image/preprocess.js';
import type { CommandContext, Runner } from './context.js';
import {
  addModelOptions,
  addOutputOptions,
  examples,
  nonNegativeInt,
  positiveInt,
  positiveNumber,
  type ModelOptions,
  type OutputOptions,
} from './options.js';
import { reportFiles, withGradients } from './output.js';

// Listed here, not imported: importing the pipeline at start-up costs every --help.
const OBJECTIVES = ['channel', 'neuron', 'layer', 'class'] as const;

interface MaximizeFlags extends ModelOptions, OutputOptions {
  layer?: string;
  channels: string;
  steps: number;
  lr: number;
  batch: number;
  objective: (typeof OBJECTIVES)[number];
  param: 'fft' | 'pixel';
  decorrelate: boolean;
  transforms: 'standard' | 'none';
  seed: number;
  diversity: number;
  preprocess?: PreprocessMode;
  saveNpy?: boolean;
  force?: boolean;
}

export function maximizeCommand(run: Runner): Command {
  const command = new Command('maximize')
    .description(
      'what a channel responds to: an image optimised until the channel fires as strongly as it can (feature visualization)',
    )
    .option('-l, --layer <name|index>', 'the spatial layer whose channels to draw')
    .option(
      '-c, --channels <list|all>',
      "channels: 'all', or numbers and ranges such as 0-15,20 (classes for --objective class)",
      '0-15',
    )
    .addOption(
      new Option(
        '--objective <kind>',
        "a channel's mean, its centre neuron, the layer's mean square (DeepDream), or a class logit",
      )
        .choices(OBJECTIVES)
        .default('channel'),
    )
    .option('--steps <n>', 'optimisation steps', positiveInt, 512)
    .option('--lr <rate>', "Adam's learning rate", positiveNumber, 0.05)
    .option('--batch <n>', 'channels optimised together', positiveInt, 8)
    .addOption(
      new Option('--param <kind>', 'the image as a 1/f-scaled spectrum or as pixels')
        .choices(['fft', 'pixel'])
        .default('fft'),
    )
    .option('--no-decorrelate', "keep colours as they are instead of ImageNet's decorrelated colours")
    .addOption(
      new Option('--transforms <set>', "Lucid's jitter, scale and rotation at every step, or none")
        .choices(['standard', 'none'])
        .default('standard'),
    )
    .option(
      '--diversity <n>',
      "pictures per channel, pushed apart by Lucid's diversity penalty (1: one)",
      positiveInt,
      1,
    )
    .option('--seed <n>', 'the random start and transforms (the same seed, the same pictures)', nonNegativeInt, 0)
    .addOption(new Option('--preprocess <mode>', "input scaling; default: the model's own").choices(PREPROCESS_MODES))
    .option('--save-npy', 'also write each image (h, w, 3) float32 in [0, 1]')
    .option('--force', 'redraw channels drawn before with the same settings');
  addModelOptions(addOutputOptions(command))
    .addHelpText(
      'after',
      examples([
        'cnnviz maximize --model model.json --layer relu_2_2 --channels all -o out/',
        'cnnviz maximize --layer block4_conv3 --channels 0-15 --size 128 -o out/',
        'cnnviz maximize --model model.json --objective class --channels 5 -o out/',
      ]),
    )
    .action((flags: MaximizeFlags) => run((ctx) => maximize(flags, ctx)));
  return command;
}

async function maximize(flags: MaximizeFlags, ctx: CommandContext): Promise<void> {
  const { planMaximize, drawMaximize } = await import('../pipeline/maximize/draw.js');
  const { prepareOutputDir } = await import('../output/files.js');
  const plan = await planMaximize({ ...flags, cacheDir: await cacheDir() });
  plan.model.details.forEach(ctx.report.verbose);
  await prepareOutputDir(flags.output);
  const result = await withGradients(ctx, flags.weights, 0, 'steps', (choice, events) =>
    drawMaximize(plan, flags, choice, events),
  );
  reportFiles(result.written, Boolean(flags.json), ctx.report, {
    model: plan.model.net.name,
    layer: plan.layer.name,
    units: result.units,
  });
}
