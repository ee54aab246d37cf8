import { Command, Option } from 'commander';
import { cacheDir } from '../config.js';
import type { CommandContext, Runner } from './context.js';
import { CAM_METHODS, type CamMethod } from '../render/cam-methods.js';
import {
  addExplainOptions,
  addModelOptions,
  addPictureOptions,
  examples,
  positiveInt,
  type ExplainOptions,
} from './options.js';
import { imagesToDraw, reportExplained, withGradients } from './output.js';

// The command's work loads when it runs: importing the pipelines (and what they load) at start-up
// costs about 100 ms of every `cnnviz --help` (measured 0.10 s against 0.20 s).

/** The command's flags as commander gives them. */
interface CamFlags extends ExplainOptions {
  layer?: string;
  method: CamMethod;
  batch: number;
}

export function camCommand(run: Runner): Command {
  const command = new Command('cam')
    .description(
      'why the model predicted what it did: the prediction, and a class activation map (Grad-CAM) over each image',
    )
    .argument('<image...>', 'image files or folders')
    .option('-l, --layer <name|index>', 'the spatial layer to weigh (default: the last stage)')
    .addOption(new Option('--method <name>', 'how the maps are weighed').choices(CAM_METHODS).default('gradcam'))
    .option('--batch <n>', 'masked copies a forward pass takes (scorecam, ablationcam)', positiveInt, 16);
  addExplainOptions(command, "also write the raw map (h, w) float32 at the layer's resolution");
  addModelOptions(addPictureOptions(command, 'colormap for the map (default turbo)'))
    .addHelpText(
      'after',
      examples([
        'cnnviz cam cat.jpg --model model.json --labels classes.txt -o out/',
        'cnnviz cam cat.jpg --model r18.onnx --class 281 --save-npy',
      ]),
    )
    .action((images: string[], flags: CamFlags) => run((ctx) => cam(images, flags, ctx)));
  return command;
}

async function cam(args: string[], flags: CamFlags, ctx: CommandContext): Promise<void> {
  const { planCam, drawCams } = await import('../pipeline/cam.js');
  const plan = await planCam({ ...flags, target: flags.class, cacheDir: await cacheDir() });
  plan.model.details.forEach(ctx.report.verbose);
  const paths = await imagesToDraw(args, flags.output, ctx);
  const forwardOnly = flags.method === 'scorecam' || flags.method === 'ablationcam';
  const run = await withGradients(
    ctx,
    flags.weights,
    paths.length,
    forwardOnly ? 'passes' : undefined,
    (choice, events) => drawCams(plan, paths, flags, choice, events),
  );
  reportExplained(run, Boolean(flags.json), ctx.report, {
    model: plan.model.net.name,
    layer: plan.layer.name,
    method: flags.method,
  });
}
