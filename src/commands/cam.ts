import { Command, Option } from 'commander';
import { readFile } from 'node:fs/promises';
import { cacheDir } from '../config.js';
import { usageError } from '../errors.js';
import { RESIZE_METHODS, type ResizeMethod } from '../image/resize.js';
import { PREPROCESS_MODES, type PreprocessMode } from '../image/preprocess.js';
import type { CommandContext, Runner } from './context.js';
import { CAM_METHODS, type CamMethod } from '../render/cam.js';
import {
  addModelOptions,
  addPictureOptions,
  examples,
  unitInterval,
  type ModelOptions,
  type PictureOptions,
} from './options.js';
import { reportFiles, withDownloadProgress } from './output.js';

// The command's work loads when it runs: importing the pipelines (and what they load) at start-up
// costs about 100 ms of every `cnnviz --help` (measured 0.10 s against 0.20 s).

/** The command's flags as commander gives them. */
interface CamFlags extends ModelOptions, PictureOptions {
  class?: string;
  layer?: string;
  labels?: string;
  alpha: number;
  resize: ResizeMethod;
  preprocess?: PreprocessMode;
  saveNpy?: boolean;
  method: CamMethod;
}

export function camCommand(run: Runner): Command {
  const command = new Command('cam')
    .description(
      'why the model predicted what it did: the prediction, and a class activation map (Grad-CAM) over each image',
    )
    .argument('<image...>', 'image files')
    .option('--class <index|name>', 'the class to explain (default: the top one)')
    .option('-l, --layer <name|index>', 'the spatial layer to weigh (default: the last stage)')
    .option('--labels <file>', 'class names, one a line, in output order')
    .addOption(
      new Option('--method <name>', 'how the gradient weighs the maps').choices(CAM_METHODS).default('gradcam'),
    )
    .option('--alpha <a>', 'opacity of the map over the image, 0 to 1', unitInterval, 0.5)
    .addOption(
      new Option('--resize <method>', 'how the image is brought to the input size')
        .choices(RESIZE_METHODS)
        .default('nearest'),
    )
    .addOption(new Option('--preprocess <mode>', "input scaling; default: the model's own").choices(PREPROCESS_MODES))
    .option('--save-npy', "also write the raw map (h, w) float32 at the layer's resolution");
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

async function cam(images: string[], flags: CamFlags, ctx: CommandContext): Promise<void> {
  const { planCam, drawCams } = await import('../pipeline/cam.js');
  const { prepareOutputDir } = await import('../output/files.js');
  const { checkImage } = await import('../image/decode.js');
  const labels = flags.labels
    ? (
        await readFile(flags.labels, 'utf8').catch(() => {
          throw usageError(`--labels ${flags.labels}: cannot be read`);
        })
      )
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean)
    : undefined;
  const plan = await planCam({ ...flags, cacheDir: await cacheDir() });
  plan.model.details.forEach(ctx.report.verbose);
  if (labels && labels.length !== plan.classes)
    throw usageError(`--labels ${flags.labels}: ${labels.length} names for ${plan.classes} classes`);
  for (const image of images) await checkImage(image);
  await prepareOutputDir(flags.output);
  const results = await withDownloadProgress(ctx.report, async (download) =>
    drawCams(
      plan,
      images,
      { ...flags, target: flags.class, labels },
      { weights: flags.weights, download },
      { notice: ctx.report.notice },
    ),
  );
  for (const result of results) {
    const name = (p: { index: number; name?: string }) => `${p.index}${p.name ? ` ${p.name}` : ''}`;
    if (!flags.json)
      ctx.report.out(
        `${result.image}: ${result.top.map((p) => `${name(p)} ${(100 * p.probability).toFixed(1)}%`).join(', ')}`,
      );
  }
  reportFiles(
    results.flatMap((r) => r.written),
    Boolean(flags.json),
    ctx.report,
    {
      model: plan.model.net.name,
      layer: plan.layer.name,
      predictions: results.map((r) => ({ image: r.image, top: r.top, explained: r.target })),
    },
  );
}
