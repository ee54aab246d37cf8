/**
 * Option parsers shared by the subcommands. Each throws commander's InvalidArgumentError,
 * which commander reports as a usage error (exit 2) naming the option.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { COLORMAPS, type ColormapName } from '../render/colormap-names.js';
import { RESIZE_METHODS, type ResizeMethod } from '../image/resize.js';
import { PREPROCESS_MODES, type PreprocessMode } from '../image/preprocess.js';

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!/^\s*\d+\s*$/.test(value) || !Number.isSafeInteger(n) || n < 1) {
    throw new InvalidArgumentError(`expected a whole number of 1 or more, got '${value}'`);
  }
  return n;
}

/** A whole number from `min` to `max`, for options whose range is known (pixels of a tile). */
export const intInRange =
  (min: number, max: number) =>
  (value: string): number => {
    const n = Number(value);
    if (!/^\s*\d+\s*$/.test(value) || n < min || n > max)
      throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}, got '${value}'`);
    return n;
  };

export function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!/^\s*\d+\s*$/.test(value) || !Number.isSafeInteger(n))
    throw new InvalidArgumentError(`expected a whole number of 0 or more, got '${value}'`);
  return n;
}

export function unitInterval(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !(n >= 0 && n <= 1))
    throw new InvalidArgumentError(`expected a number from 0 to 1, got '${value}'`);
  return n;
}

/** A number above 0. */
export function positiveNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !(n > 0) || !Number.isFinite(n))
    throw new InvalidArgumentError(`expected a number above 0, got '${value}'`);
  return n;
}

/** A number above 0 and at most 1. */
export function positiveFraction(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !(n > 0 && n <= 1))
    throw new InvalidArgumentError(`expected a number above 0 and at most 1, got '${value}'`);
  return n;
}

/** A count that may also be 'all'; `Infinity` stands for all. */
export function countOrAll(value: string): number {
  return value === 'all' ? Infinity : positiveInt(value);
}

export function choice<T extends string>(choices: readonly T[]) {
  return (value: string): T => {
    if (!choices.includes(value as T))
      throw new InvalidArgumentError(`expected one of ${choices.join(', ')}, got '${value}'`);
    return value as T;
  };
}

/** "224x224" or "224": the input's width and height. */
export function imageSize(value: string): [number, number] {
  const match = /^(\d+)(?:x(\d+))?$/i.exec(value.trim());
  const [width, height] = match ? [Number(match[1]), Number(match[2] ?? match[1])] : [0, 0];
  if (!(width >= 1 && height >= 1)) throw new InvalidArgumentError(`expected WxH such as 224x224, got '${value}'`);
  return [width, height];
}

export interface ModelOptions {
  model: string;
  weights: string;
  size?: [number, number];
  input?: Record<string, number>;
}

/** `--input name=value`, repeatable: one value for a whole input tensor. */
function inputValue(value: string, previous: Record<string, number> = {}): Record<string, number> {
  const at = value.lastIndexOf('=');
  const [name, number] = [value.slice(0, at), Number(value.slice(at + 1))];
  if (at < 1 || value.slice(at + 1).trim() === '' || !Number.isFinite(number))
    throw new InvalidArgumentError(`expected name=value such as state_1=0.5, got '${value}'`);
  return { ...previous, [name]: number };
}

/** What the picture-writing commands share: where files go, how they are listed, their colours. */
export interface PictureOptions extends OutputOptions {
  colormap: ColormapName;
}

/** Where files go and how they are listed. */
export interface OutputOptions {
  output: string;
  json?: boolean;
}

export function addOutputOptions(command: Command): Command {
  return command
    .option('-o, --output <dir>', 'output folder', 'out')
    .option('--json', 'list the written files as JSON');
}

export function addPictureOptions(command: Command, colormapHelp: string): Command {
  return addOutputOptions(
    command.addOption(new Option('--colormap <name>', colormapHelp).choices(COLORMAPS).default('gray')),
  );
}

/** --model, --weights and --size, which every subcommand that reads a model takes. */
export function addModelOptions(command: Command): Command {
  return command
    .addOption(
      new Option(
        '-m, --model <name|path>',
        'vgg16, vgg19, or a model file: model.json (TensorFlow.js), .h5 (Keras), .keras, .onnx (PyTorch and others)',
      ).default('vgg16'),
    )
    .option('--size <WxH>', "the input's width and height, for models that leave it undefined", imageSize)
    .option(
      '--input <name=value>',
      "a graph model's other input (a recurrent state, a flag) filled with value; the others get zeros (repeatable)",
      inputValue,
    )
    .addOption(
      new Option(
        '-w, --weights <imagenet|none|path>',
        "'imagenet' (built-ins: found or downloaded once; model files: their own), 'none' (seeded random; not for .onnx), or a Keras .h5 weights file",
      ).default('imagenet'),
    );
}

export function examples(lines: string[]): string {
  return `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`;
}

/** What `cam` and `saliency` share: the class, its names, the picture over the image, batches. */
export interface ExplainOptions extends ModelOptions, PictureOptions {
  class?: string;
  labels?: string;
  alpha: number;
  resize: ResizeMethod;
  preprocess?: PreprocessMode;
  saveNpy?: boolean;
  force?: boolean;
}

export function addExplainOptions(command: Command, saveNpy: string): Command {
  return command
    .option('--class <index|name>', 'the class to explain (default: the top one)')
    .option('--labels <file>', "class names, one a line, in output order (ImageNet's built in for 1000 classes)")
    .option('--alpha <a>', 'opacity of the map over the image, 0 to 1', unitInterval, 0.5)
    .addOption(
      new Option('--resize <method>', 'how the image is brought to the input size')
        .choices(RESIZE_METHODS)
        .default('nearest'),
    )
    .addOption(new Option('--preprocess <mode>', "input scaling; default: the model's own").choices(PREPROCESS_MODES))
    .option('--save-npy', saveNpy)
    .option('--force', 'redo images a batch explained before with the same settings');
}
