/**
 * What every format adapter gives and takes: the Model (network description, kernels, an
 * engine), how it is opened, and what an engine is asked for. Types only, in a file of their
 * own, so that formats/model.ts and each adapter import them without importing each other.
 */
import type { EngineName } from '../engines/backend.js';
import type { Forward } from '../engines/forward.js';
import type { PreprocessMode } from '../image/preprocess.js';
import type { Kernel, Net, Shape } from '../net/net.js';
import type { ModelProto } from '../graph/proto.js';
import type { TensorLayout } from '../graph/forward-graph.js';
import type { DownloadCallbacks } from '../weights/resolve.js';

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
  /**
   * How many passes the caller could keep under way at once (its batches): ONNX Runtime then
   * runs up to that many sessions side by side (no more than threads, nor 4), sharing the
   * threads out. Default 1.
   */
  lanes?: number;
  explain?: (line: string) => void;
  /** What the user should see (a slower engine, a cache rebuilt); --verbose not needed. */
  notice?: (line: string) => void;
}

export interface Model {
  net: Net;
  /** The inputs besides the image that `--input name=value` can set (a graph model's recurrent states). */
  otherInputs?: string[];
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
  /**
   * The forward pass as an ONNX graph computing the named layers, for building its gradients:
   * what it depends on (for caching what is built from it) at once, the graph when asked.
   */
  forwardGraph(layers: string[], choice: WeightsChoice): Promise<ForwardGraphSource>;
}

/** A forward graph before it is built: a cache hit on what is made from it never builds it. */
export interface ForwardGraphSource {
  /** Everything the graph depends on (the file's or weights' identity, layers, translator); undefined: not cacheable. */
  key: Record<string, unknown> | undefined;
  weights: WeightsInfo;
  build(): Promise<ForwardGraph>;
}

/** A model's forward pass as ONNX: what the gradient builder differentiates. */
export interface ForwardGraph {
  model: ModelProto;
  input: { name: string; shape: Shape; layout: 'nhwc' | 'nchw' };
  /** The graph tensor holding each requested layer's output, in order, and its layout. */
  tensors: Array<{ name: string; layout: TensorLayout }>;
  weights: WeightsInfo;
}

export interface OpenOptions {
  /** For the built-ins: whether the classifier top is part of the network. */
  includeTop: boolean;
  /** Input width and height, for models that leave them undefined (or to override them). */
  size?: [width: number, height: number];
  /** Values for a model's inputs other than the image, by name (--input name=value); the rest get zeros. */
  inputs?: Record<string, number>;
  /** Bytes one activation may take; default CNNVIZ_MAX_MEMORY, else 4 GB. */
  memoryBudget?: number;
  /** cnnviz's cache folder, where formats may keep what they worked out about a file. */
  cacheDir?: string;
  /**
   * Set when the caller will read weights (an engine, a kernel): HDF5's wasm then compiles on
   * background threads while the model opens. A summary never pays for it (0.15 s against 0.38 s).
   */
  readsWeights?: boolean;
}
