/**
 * What `cam` and `saliency` share: a model with a class output, its prediction for an image (the
 * softmax of its logits, ranked and named), the class to explain, and the image as the model
 * takes it.
 */
import { readFile } from 'node:fs/promises';
import { usageError } from '../errors.js';
import { decodeImage, type RgbImage } from '../image/decode.js';
import { channelsNote, inputChannels, toInputChannels, type InputChannels } from '../image/channels.js';
import { PREPROCESSORS, type PreprocessMode } from '../image/preprocess.js';
import { resizeImage, type ResizeMethod } from '../image/resize.js';
import { openModel } from '../formats/model.js';
import { softmax } from '../render/normalize.js';
import type { ForwardGraph, Model } from '../formats/types.js';
import type { NetLayer } from '../net/net.js';

export interface ClassifierRequest {
  model: string;
  size?: [number, number];
  /** --input: values for a graph model's inputs other than the image. */
  input?: Record<string, number>;
  cacheDir?: string;
  preprocess?: PreprocessMode;
}

export interface Classifier {
  model: Model;
  /** The class output: the last layer, of (batch, classes). */
  head: NetLayer;
  classes: number;
  /** The input's size, and the channels images are fed as (grayscale, RGB, RGBA). */
  input: { width: number; height: number; channels: InputChannels };
  preprocessing: PreprocessMode;
}

/** The model, refused before any work unless it ends in classes and takes RGB images of a known size. */
export async function openClassifier(request: ClassifierRequest): Promise<Classifier> {
  const model = await openModel(request.model, {
    includeTop: true,
    size: request.size,
    inputs: request.input,
    cacheDir: request.cacheDir,
    readsWeights: true,
  });
  return classifierOf(model, request.preprocess);
}

/** An opened model as a classifier; a usage error naming what is missing when it is not one. */
export function classifierOf(model: Model, preprocess?: PreprocessMode): Classifier {
  const { net } = model;
  const last = net.layers[net.layers.length - 1];
  const classes = last?.outputShape?.length === 2 ? last.outputShape[1] : null;
  if (!last || typeof classes !== 'number' || classes < 2) {
    throw usageError(
      `${net.name} has no class output (its last layer gives ${JSON.stringify(last?.outputShape ?? '?')}); 'cnnviz examples' shows what its channels respond to`,
    );
  }
  const [height, width, channels] = net.input;
  const preprocessing = preprocess ?? model.preprocess;
  const fed = inputChannels(net.name, channels, preprocessing);
  if (typeof height !== 'number' || typeof width !== 'number')
    throw usageError(`${net.name} leaves its input size undefined; give one with --size WxH`);
  return { model, head: last, classes, input: { width, height, channels: fed }, preprocessing };
}

/**
 * Class names: `--labels FILE` (one a line, in output order), else ImageNet's for an output of
 * 1000 classes, else none (classes go by index).
 */
export async function classNames(classes: number, file?: string): Promise<string[] | undefined> {
  if (file) {
    const text = await readFile(file, 'utf8').catch(() => {
      throw usageError(`--labels ${file}: cannot be read`);
    });
    const names = text
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
    if (names.length !== classes) throw usageError(`--labels ${file}: ${names.length} names for ${classes} classes`);
    return names;
  }
  if (classes !== 1000) return undefined;
  const { IMAGENET_CLASSES } = await import('../net/imagenet-classes.js');
  return [...IMAGENET_CLASSES];
}

/**
 * The classes' names (--labels, or ImageNet's) and the class --class names as an index: a bad
 * --class fails here, before any work and before the output folder is made.
 */
export async function namedTarget(
  classifier: Classifier,
  labels?: string,
  target?: string,
): Promise<{ names?: string[]; target?: number }> {
  const names = await classNames(classifier.classes, labels);
  const index = target === undefined ? undefined : targetClass(target, classifier.classes, names);
  return { ...(names ? { names } : {}), ...(index === undefined ? {} : { target: index }) };
}

/** A class as the prediction lists it: its index, probability and name where names are known. */
export interface Prediction {
  index: number;
  probability: number;
  name?: string;
}

/** Every class by probability, highest first. */
export function rankClasses(logits: ArrayLike<number>, names?: string[]): Prediction[] {
  return Array.from(softmax(logits))
    .map((probability, index) => ({ index, probability, ...(names?.[index] ? { name: names[index] } : {}) }))
    .sort((a, b) => b.probability - a.probability);
}

/** The class --class names: a name (any case) or an index. */
export function targetClass(value: string, classes: number, names: string[] | undefined): number {
  const named = names?.findIndex((n) => n.toLowerCase() === value.toLowerCase()) ?? -1;
  if (named >= 0) return named;
  const index = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!(index >= 0 && index < classes)) {
    throw usageError(`--class ${value}: ${names ? 'no such label, nor ' : ''}a class index from 0 to ${classes - 1}`);
  }
  return index;
}

/** A one-hot cotangent per class: the seed that makes a gradient that class's logit's. */
export function oneHot(index: number, classes: number): Float32Array {
  const seed = new Float32Array(classes);
  if (index >= 0) seed[index] = 1;
  return seed;
}

/** The logits behind a class output: through Identity nodes to a Softmax's input, where there is one. */
export function logitsOf(graph: ForwardGraph, output: string): { tensor: string; softmax: boolean } {
  const producer = (t: string) => graph.model.graph.node.find((n) => n.output[0] === t);
  let tensor = output;
  for (let node = producer(tensor); node?.opType === 'Identity'; node = producer(tensor)) tensor = node.input[0];
  const node = producer(tensor);
  return node?.opType === 'Softmax' ? { tensor: node.input[0], softmax: true } : { tensor, softmax: false };
}

/** Says once how images are fed when the model does not take RGB. */
export function noticeChannels(classifier: Classifier, notice: (line: string) => void): void {
  const note = channelsNote(classifier.input.channels);
  if (note) notice(note);
}

/** An image as the user has it, and as the model takes it: resized, in its channels, preprocessed, (h, w, c). */
export interface ModelInput {
  original: RgbImage;
  resized: RgbImage;
  nhwc: Float32Array;
}

export async function modelInput(path: string, classifier: Classifier, resize: ResizeMethod): Promise<ModelInput> {
  const original = await decodeImage(path);
  const { width, height } = classifier.input;
  const resized = await resizeImage(original, width, height, resize);
  const pixels = toInputChannels(resized.data, classifier.input.channels);
  return { original, resized, nhwc: PREPROCESSORS[classifier.preprocessing](pixels) };
}
