/**
 * A classifier's forward pass and the gradient of a class logit, on ONNX Runtime: the model's
 * own forward graph (any format), its logits (a final softmax's input), and the gradient graph
 * built from them, run in batches where the graph takes any batch size. Values and gradients
 * come back channels-last, one array per image.
 */
import { CnnvizError, messageOf, runtimeError, usageError } from '../errors.js';
import type { ForwardGraph, Model, WeightsChoice, WeightsInfo } from '../formats/types.js';
import type { TensorLayout } from '../graph/forward-graph.js';
import {
  GRADIENT_RULES_VERSION,
  gradientModel,
  gradientName,
  NoGradientRuleError,
  seedName,
} from '../graph/gradient.js';
import { toChannelsFirst, toChannelsLast } from '../image/layout.js';
import type { MapShape, NetLayer } from '../net/net.js';
import {
  baseSessionOptions,
  loadOrt,
  ortReason,
  preparedSession,
  type Ort,
  type OrtSession,
} from '../engines/onnx-runtime.js';
import { timed } from '../timings.js';
import { logitsOf, type Classifier } from './classifier.js';

export interface GradientEvents {
  notice(line: string): void;
}

/** A tensor cnnviz reads: its name in the graph, its layout, and its (h, w, c). */
interface Probe {
  name: string;
  layout: TensorLayout;
  shape: MapShape;
}

/**
 * What one image gives: the differentiated tensor's value (the logits, or the target layer's
 * maps), each probed tensor's value and the gradient there, channels-last.
 */
export interface GradientResult {
  target: Float32Array;
  values: Float32Array[];
  gradients: Float32Array[];
}

export interface Differentiator {
  weights: WeightsInfo;
  /** The images one run takes at most (1 where the graph fixes its batch). */
  batch: number;
  /**
   * Per image (h, w, 3, preprocessed) and its seed (a cotangent of the logits or the target's
   * maps). `values: false` leaves the probed tensors' values unread (empty), `target: false` the
   * target's: an optimisation that only needs gradients copies no more out of the runtime.
   */
  run(
    images: Float32Array[],
    seeds: Float32Array[],
    read?: { values?: boolean; target?: boolean },
  ): Promise<GradientResult[]>;
  release(): Promise<void>;
}

/** The weights to use, and where prepared gradient models are kept between runs. */
export interface GradientChoice extends WeightsChoice {
  onnxCacheDir?: string;
  explain?: (line: string) => void;
}

export interface DifferentiatorRequest {
  /** Spatial layers whose maps and gradients are read, with their (h, w, c). */
  layers: Array<{ name: string; map: MapShape }>;
  /** Whether the input's gradient is read too (after the layers'). */
  input: boolean;
  relu?: 'standard' | 'guided' | 'redirected';
  /**
   * A layer to differentiate instead of the class logits (feature visualization): each image's
   * seed is then a cotangent of its maps, (h, w, c) channels-last.
   */
  target?: { name: string; map: MapShape };
  /** How many images a run may take where the graph allows any number. */
  batch?: number;
  /** For the bench: a stride-1 Conv's input gradient as ConvTranspose instead of a flipped Conv. */
  convGradient?: 'conv' | 'transpose';
}

/** What using a gradient model takes, kept with it in the cache: its names and layouts. */
interface GradientInterface {
  input: { name: string; layout: 'nhwc' | 'nchw'; free: boolean };
  probes: Probe[];
  /** The differentiated tensor: the logits, or a layer's maps in their layout. */
  target: { name: string; layout: TensorLayout };
  softmax: boolean;
}

/** What is differentiated: a classifier's logits, or any model's layer (then `head` is not needed). */
export interface GradientSubject {
  model: Model;
  /** The input's size and channels (3 unless said). */
  input: { width: number; height: number; channels?: number };
  head?: NetLayer;
  classes?: number;
}

/** Channels-last, whatever layout the graph keeps a map in. */
export function channelsLast(data: Float32Array, layout: TensorLayout, shape: MapShape): Float32Array {
  return layout === 'nchw' ? toChannelsLast(data, shape) : data;
}

const softmaxNote = (head: string) =>
  `${head} ends in a softmax: differentiated at its input, the logits, as Grad-CAM and saliency maps are`;
const randomNote = (weights: WeightsInfo) => `weights: ${weights.description}; the picture shows an untrained network`;

/** The forward graph of the layers and the class output, built, with its logits; what the user should know said once. */
export async function classifierGraph(
  classifier: Classifier,
  layers: string[],
  choice: WeightsChoice,
  events: GradientEvents,
): Promise<{ graph: ForwardGraph; logits: string }> {
  const source = await classifier.model.forwardGraph([...layers, classifier.head.name], choice);
  if (source.weights.random) events.notice(randomNote(source.weights));
  const graph = await source.build();
  const logits = logitsOf(graph, graph.tensors[graph.tensors.length - 1].name);
  if (logits.softmax) events.notice(softmaxNote(classifier.head.name));
  return { graph, logits: logits.tensor };
}

/** A session over `bytes`, ONNX Runtime's refusal said in one line. */
export async function sessionFor(ort: Ort, bytes: Uint8Array, what: string): Promise<OrtSession> {
  return ort.InferenceSession.create(bytes, { ...baseSessionOptions(), graphOptimizationLevel: 'all' }).catch(
    (err: Error) => {
      throw runtimeError(`ONNX Runtime cannot run ${what}: ${ortReason(err.message)}`);
    },
  );
}

/** Images (h, w, c) stacked into one tensor's data in the graph's input layout, and its dims. */
export function inputBatch(
  layout: 'nhwc' | 'nchw',
  images: Float32Array[],
  [h, w, c]: [number, number, number],
): { data: Float32Array; dims: number[] } {
  const nchw = layout === 'nchw';
  const size = h * w * c;
  const data = new Float32Array(images.length * size);
  images.forEach((image, i) => data.set(nchw ? toChannelsFirst(image, [h, w, c]) : image, i * size));
  return { data, dims: nchw ? [images.length, c, h, w] : [images.length, h, w, c] };
}

/** Item `i` of a batch output of `size` elements each. */
export const item = (data: Float32Array, i: number, size: number): Float32Array => data.slice(i * size, (i + 1) * size);

/**
 * The gradient model of the class logits (or of a target layer's maps), prepared once and kept
 * in the ONNX cache like the forward models: a warm run neither builds the forward graph nor
 * differentiates it.
 */
export async function openDifferentiator(
  subject: GradientSubject,
  request: DifferentiatorRequest,
  choice: GradientChoice,
  events: GradientEvents,
): Promise<Differentiator> {
  const { width, height, channels = 3 } = subject.input;
  const layers = request.layers.map((l) => l.name);
  const last = request.target?.name ?? subject.head?.name;
  if (!last) throw new Error('a gradient needs a target layer or a class output');
  const name = subject.model.net.name;
  const source = await subject.model.forwardGraph([...layers, last], choice);
  if (source.weights.random) events.notice(randomNote(source.weights));
  const { relu = 'standard', convGradient = 'conv' } = request;
  let iface: GradientInterface | undefined;
  const build = async () => {
    const graph = await source.build();
    const output = graph.tensors[graph.tensors.length - 1];
    const target = request.target
      ? { ...output, softmax: false }
      : { ...logitsOf(graph, output.name), layout: 'flat' as const };
    const probes: Probe[] = request.layers.map((l, i) => ({ ...graph.tensors[i], shape: l.map }));
    if (request.input)
      probes.push({ name: graph.input.name, layout: graph.input.layout, shape: [height, width, channels] as MapShape });
    const { name: inputName, layout, shape } = graph.input;
    iface = {
      input: { name: inputName, layout, free: shape[0] === null },
      probes,
      target: { name: 'tensor' in target ? target.tensor : target.name, layout: target.layout },
      softmax: target.softmax,
    };
    try {
      return gradientModel({
        model: graph.model,
        input: graph.input,
        target: iface.target.name,
        wrt: probes.map((p) => p.name),
        relu,
        convGradient,
      });
    } catch (err) {
      if (err instanceof NoGradientRuleError)
        throw usageError(`cannot differentiate ${name}: no gradient rule for ${err.message}`);
      throw err;
    }
  };
  const ort = await loadOrt();
  const what = `the gradient of ${name}`;
  const session = await timed('build', () =>
    preparedSession(ort, {
      cacheDir: choice.onnxCacheDir,
      key: source.key && {
        gradient: GRADIENT_RULES_VERSION,
        forward: source.key,
        target: last,
        layers,
        input: request.input,
        relu,
        convGradient,
      },
      build,
      prepack: false,
      explain: choice.explain,
      notice: events.notice,
      extras: {
        names: ['interface.json'],
        make: () => ({ 'interface.json': JSON.stringify(iface) }),
        found: (files) => (iface = JSON.parse(files['interface.json']) as GradientInterface),
      },
    }),
  ).catch((err: unknown) => {
    if (err instanceof CnnvizError) throw err;
    throw runtimeError(`ONNX Runtime cannot run ${what}: ${ortReason(messageOf(err))}`);
  });
  const { input, probes, target, softmax } = iface!;
  if (softmax) events.notice(softmaxNote(subject.head!.name));
  const batch = input.free ? Math.max(1, request.batch ?? 8) : 1;
  // A seed per image: a cotangent of the logits, or of the target's maps (in the graph's layout).
  const seedShape = request.target ? request.target.map : undefined;
  const seedSize = seedShape ? seedShape[0] * seedShape[1] * seedShape[2] : subject.classes!;
  const seedDims = (n: number) =>
    !seedShape
      ? [n, seedSize]
      : target.layout === 'nchw'
        ? [n, seedShape[2], seedShape[0], seedShape[1]]
        : [n, ...seedShape];
  return {
    weights: source.weights,
    batch,
    async run(images, seeds, wanted = {}) {
      const { values: readValues = true, target: readTarget = true } = wanted;
      const n = images.length;
      const batch = inputBatch(input.layout, images, [height, width, channels]);
      const seed = new Float32Array(n * seedSize);
      seeds.forEach((s, i) =>
        seed.set(seedShape && target.layout === 'nchw' ? toChannelsFirst(s, seedShape) : s, i * seedSize),
      );
      const feeds = {
        [input.name]: new ort.Tensor('float32', batch.data, batch.dims),
        [seedName(target.name)]: new ort.Tensor('float32', seed, seedDims(n)),
      };
      const fetches = [
        ...(readTarget ? [target.name] : []),
        ...(readValues ? probes.map((p) => p.name) : []),
        ...probes.map((p) => gradientName(p.name)),
      ];
      const result = await timed('forward+backward', () => session.run(feeds, fetches));
      const read = (name: string) => result[name].data as Float32Array;
      const none = new Float32Array(0);
      return images.map((_, i) => {
        const slice = (name: string, p: Probe) => {
          const size = p.shape[0] * p.shape[1] * p.shape[2];
          return channelsLast(item(read(name), i, size), p.layout, p.shape);
        };
        const value = readTarget ? item(read(target.name), i, seedSize) : none;
        return {
          target: seedShape && readTarget ? channelsLast(value, target.layout, seedShape) : value,
          values: probes.map((p) => (readValues ? slice(p.name, p) : none)),
          gradients: probes.map((p) => slice(gradientName(p.name), p)),
        };
      });
    },
    release: () => session.release(),
  };
}
