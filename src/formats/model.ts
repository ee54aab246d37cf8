/**
 * The one model loader every command shares: `--model` (a built-in name or a file of any
 * format cnnviz reads) to a Model: the format-neutral network description, how its input is
 * prepared, its kernels, and an engine for its activations. Commands never ask the format.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { usageError } from '../errors.js';
import type { EngineName } from '../engines/backend.js';
import type { Forward } from '../engines/forward.js';
import type { PreprocessMode } from '../image/preprocess.js';
import { findCycle, type Kernel, type Net } from '../net/net.js';
import type { DownloadCallbacks } from '../weights/resolve.js';
import { BUILTIN_MODELS } from './builtin.js';
import { firstEmptyMap, formatBytes, largestActivation, memoryBudget, smallestWorkingSize } from '../net/sizes.js';

/** Where the values came from, for every output line: 'imagenet (~/.keras/...)', 'from the model file (...)'. */
export interface WeightsInfo {
  description: string;
  /** True for `--weights none`: every picture says it shows an untrained network. */
  random: boolean;
}

export interface WeightsChoice {
  /** `--weights`: imagenet (the model's own), none, or a file. */
  weights: string;
  download?: DownloadCallbacks;
}

export interface EngineRequest extends WeightsChoice {
  engine: EngineName;
  /** Where prepared ONNX models are kept between runs; none: not kept. */
  onnxCacheDir?: string;
  explain?: (line: string) => void;
  /** What the user should see (a slower engine, a cache rebuilt); --verbose not needed. */
  notice?: (line: string) => void;
}

export interface Model {
  net: Net;
  /** How the description was made (where shapes came from, say), for --verbose. */
  details: string[];
  /** How the input is prepared unless --preprocess says otherwise. */
  preprocess: PreprocessMode;
  /** Set when the default is a guess worth announcing (model files say nothing of it). */
  preprocessNote?: string;
  /** True when the first layer's input channels are stored B, G, R (caffe-preprocessed models). */
  bgr: boolean;
  /**
   * The same model without its classifier, for a built-in whose convolutional base has its own
   * (much smaller) weights file; absent where there is nothing to leave out.
   */
  withoutTop?(): Promise<Model>;
  /** The network at another (square) input size, for finding the smallest that works. */
  netAt?(side: number): Promise<Net>;
  /** Refuses, before any work, an engine or `--weights` this model cannot take (a usage error). */
  checkChoices(choices: { engine?: EngineName; weights?: string }): void;
  /** One convolution's kernel, (kh, kw, in per group, out). */
  readKernel(layer: string, choice: WeightsChoice): Promise<{ kernel: Kernel; weights: WeightsInfo }>;
  /** An engine whose outputs are the named layers' activations, channels-last. */
  startEngine(layers: string[], request: EngineRequest): Promise<{ forward: Forward; weights: WeightsInfo }>;
}

export interface OpenOptions {
  /** For the built-ins: whether the classifier top is part of the network. */
  includeTop: boolean;
  /** Input width and height, for models that leave them undefined (or to override them). */
  size?: [width: number, height: number];
  /** Bytes one activation may take; default CNNVIZ_MAX_MEMORY, else 4 GB. */
  memoryBudget?: number;
  /** cnnviz's cache folder, where formats may keep what they worked out about a file. */
  cacheDir?: string;
}

export const MODEL_FILE_KINDS = '.json (TensorFlow.js), .h5 (Keras model.save), .keras (Keras 3), .onnx';

export async function openModel(ref: string, options: OpenOptions): Promise<Model> {
  const builtin = BUILTIN_MODELS[ref.toLowerCase()];
  if (!builtin && !existsSync(ref)) {
    throw usageError(
      `unknown model '${ref}': not a built-in model (${Object.keys(BUILTIN_MODELS).join(', ')}) nor an existing file (${MODEL_FILE_KINDS})`,
    );
  }
  let model: Model;
  const graphJson = !builtin && extname(ref).toLowerCase() === '.json' ? await readGraphModelJson(ref) : undefined;
  if (graphJson) {
    const { openGraphModel } = await import('./tfjs-graph/model.js');
    model = await openGraphModel(ref, graphJson, options);
  } else if (!builtin && extname(ref).toLowerCase() === '.onnx') {
    const { openOnnxModel } = await import('./onnx/model.js');
    model = await openOnnxModel(ref, options);
  } else {
    const { openKerasModel } = await import('./keras/model.js');
    model = await openKerasModel(ref, options);
  }
  const cycle = findCycle(model.net.layers);
  if (cycle)
    throw usageError(
      `'${ref}' is no network cnnviz can run: its layers feed each other in a cycle (${cycle.join(' -> ')})`,
    );
  await checkInputSize(model, options.memoryBudget ?? memoryBudget(process.env.CNNVIZ_MAX_MEMORY));
  return model;
}

/** A model.json's content when it is a graph model (converted from a SavedModel or TF Hub). */
async function readGraphModelJson(path: string): Promise<unknown> {
  // Not JSON at all: the layers-model reader says what is wrong with the file.
  const json = await readFile(path, 'utf8')
    .then((text) => JSON.parse(text) as unknown)
    .catch(() => undefined);
  const { isGraphModelJson } = await import('./tfjs-graph/model.js');
  return isGraphModelJson(json) ? json : undefined;
}

/** An input size the network cannot take is refused before any work: too small, or too large for memory. */
export async function checkInputSize(model: Model, budget: number): Promise<void> {
  const { net } = model;
  const [h, w] = net.input;
  const empty = firstEmptyMap(net);
  if (empty) {
    const [eh, ew] = empty.mapShape!;
    const smallest = model.netAt ? await smallestWorkingSize(model.netAt) : undefined;
    const hint = smallest
      ? `; the smallest input that works is ${smallest}x${smallest} (--size ${smallest}x${smallest})`
      : '';
    throw usageError(
      `a ${w}x${h} input is too small for ${net.name}: the maps of '${empty.name}' would be ${eh}x${ew}${hint}`,
    );
  }
  const largest = largestActivation(net);
  if (largest.bytes > budget) {
    throw usageError(
      `a ${w}x${h} input is too large for ${net.name}: ${largest.name} alone would take ${formatBytes(largest.bytes)} per image, over the ${formatBytes(budget)} budget (CNNVIZ_MAX_MEMORY=16GB raises it)`,
    );
  }
}
