import { Command, Option } from 'commander';
import { cacheDir } from '../config.js';
import type { CommandContext, Runner } from './context.js';
import {
  addExplainOptions,
  addModelOptions,
  addPictureOptions,
  examples,
  nonNegativeInt,
  positiveFraction,
  positiveInt,
  type ExplainOptions,
} from './options.js';
import { imagesToDraw, reportExplained, withGradients } from './output.js';

// The methods are listed here, not imported: importing the pipeline at start-up costs every --help.
const METHODS = ['gradient', 'smoothgrad', 'integrated', 'guided'] as const;
const BASELINES = ['black', 'blur'] as const;

interface SaliencyFlags extends ExplainOptions {
  method: (typeof METHODS)[number];
  samples: number;
  noise: number;
  seed: number;
  steps: number;
  baseline: (typeof BASELINES)[number];
  batch: number;
}

export function saliencyCommand(run: Runner): Command {
  const command = new Command('saliency')
    .description("which pixels the class score is most sensitive to: the input's gradient and methods that refine it")
    .argument('<image...>', 'image files or folders')
    .addOption(
      new Option('--method <name>', 'gradient, SmoothGrad, Integrated Gradients, guided backpropagation')
        .choices(METHODS)
        .default('gradient'),
    )
    .option('--samples <n>', 'smoothgrad: noisy copies averaged', positiveInt, 25)
    .option('--noise <f>', "smoothgrad: the noise's deviation, a fraction of the input's range", positiveFraction, 0.15)
    .option('--seed <n>', 'smoothgrad: the noise seed (the same seed, the same picture)', nonNegativeInt, 0)
    .option('--steps <n>', 'integrated: intervals on the path from the baseline', positiveInt, 50)
    .addOption(new Option('--baseline <name>', 'integrated: where the path starts').choices(BASELINES).default('black'))
    .option('--batch <n>', 'inputs one run takes (smoothgrad, integrated)', positiveInt, 8);
  addExplainOptions(command, 'also write the raw signed gradient (attributions for integrated) (H, W, 3) float32');
  addModelOptions(addPictureOptions(command, 'colormap for the overlay (default inferno)'))
    .addHelpText(
      'after',
      examples([
        'cnnviz saliency cat.jpg --model model.json --labels classes.txt -o out/',
        'cnnviz saliency cat.jpg --model r18.onnx --method smoothgrad --samples 50',
        'cnnviz saliency photos/ --model r18.onnx --method integrated --baseline blur --save-npy',
      ]),
    )
    .action((images: string[], flags: SaliencyFlags) => run((ctx) => saliency(images, flags, ctx)));
  return command;
}

async function saliency(args: string[], flags: SaliencyFlags, ctx: CommandContext): Promise<void> {
  const { planSaliency, drawSaliency } = await import('../pipeline/saliency.js');
  const plan = await planSaliency({ ...flags, target: flags.class, cacheDir: await cacheDir() });
  plan.model.details.forEach(ctx.report.verbose);
  const paths = await imagesToDraw(args, flags.output, ctx);
  const manyRuns = flags.method === 'smoothgrad' || flags.method === 'integrated';
  const result = await withGradients(
    ctx,
    flags.weights,
    paths.length,
    manyRuns ? 'passes' : undefined,
    (choice, events) => drawSaliency(plan, paths, flags, choice, events),
  );
  reportExplained(result, Boolean(flags.json), ctx.report, { model: plan.model.net.name, method: flags.method });
}
