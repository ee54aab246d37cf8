/**
 * A classifier's forward pass and the gradient of a class logit, on ONNX Runtime: the model's
 * own forward graph (any format), its logits (a final softmax's input), and the gradient graph
 * built from them, run in batches where the graph takes any batch size. Values and gradients
 * come back channels-last, one array per image.
 */
import { runtimeError, usageError } from '../errors.js';
import type { ForwardGraph, WeightsChoice, WeightsInfo } from '../formats/types.js';
import type { TensorLayout } from '../graph/forward-graph.js';
import { gradientModel, gradientName, NoGradientRuleError, seedName } from '../graph/gradient.js';
import { toChannelsFirst, toChannelsLast } from '../image/layout.js';
import type { MapShape } from '../net/net.js';
import { baseSessionOptions, loadOrt, ortReason, type Ort, type OrtSession } from '../engines/onnx-runtime.js';
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

/** What one image gives: the logits, each probed tensor's value and the gradient there, channels-last. */
export interface GradientResult {
  logits: Float32Array;
  values: Float32Array[];
  gradients: Float32Array[];
}

export interface Differentiator {
  graph: ForwardGraph;
  weights: WeightsInfo;
  /** The images one run takes at most (1 where the graph fixes its batch). */
  batch: number;
  /** Per image (h, w, 3, preprocessed) and its seed (a cotangent of the logits). */
  run(images: Float32Array[], seeds: Float32Array[]): Promise<GradientResult[]>;
  release(): Promise<void>;
}

export interface DifferentiatorRequest {
  /** Spatial layers whose maps and gradients are read, with their (h, w, c). */
  layers: Array<{ name: string; map: MapShape }>;
  /** Whether the input's gradient is read too (after the layers'). */
  input: boolean;
  relu?: 'standard' | 'guided';
  /** How many images a run may take where the graph allows any number. */
  batch?: number;
}

/** Channels-last, whatever layout the graph keeps a map in. */
export function channelsLast(data: Float32Array, layout: TensorLayout, shape: MapShape): Float32Array {
  return layout === 'nchw' ? toChannelsLast(data, shape) : data;
}

/** The forward graph of the layers and the class output, with the logits and what a softmax at the end means said once. */
export async function classifierGraph(
  classifier: Classifier,
  layers: string[],
  choice: WeightsChoice,
  events: GradientEvents,
): Promise<{ graph: ForwardGraph; logits: string }> {
  const graph = await classifier.model.forwardGraph([...layers, classifier.head.name], choice);
  if (graph.weights.random)
    events.notice(`weights: ${graph.weights.description}; the picture shows an untrained network`);
  const logits = logitsOf(graph, graph.tensors[graph.tensors.length - 1].name);
  if (logits.softmax)
    events.notice(
      `${classifier.head.name} ends in a softmax: differentiated at its input, the logits, as Grad-CAM does`,
    );
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

/** Images stacked into one tensor's data in the graph's input layout, and its dims. */
export function inputBatch(
  graph: ForwardGraph,
  images: Float32Array[],
  [h, w]: [number, number],
): { data: Float32Array; dims: number[] } {
  const nchw = graph.input.layout === 'nchw';
  const data = new Float32Array(images.length * h * w * 3);
  images.forEach((image, i) => data.set(nchw ? toChannelsFirst(image, [h, w, 3]) : image, i * h * w * 3));
  return { data, dims: nchw ? [images.length, 3, h, w] : [images.length, h, w, 3] };
}

/** Item `i` of a batch output of `size` elements each. */
export const item = (data: Float32Array, i: number, size: number): Float32Array => data.slice(i * size, (i + 1) * size);

export async function openDifferentiator(
  classifier: Classifier,
  request: DifferentiatorRequest,
  choice: WeightsChoice,
  events: GradientEvents,
): Promise<Differentiator> {
  const { graph, logits } = await classifierGraph(
    classifier,
    request.layers.map((l) => l.name),
    choice,
    events,
  );
  const { width, height } = classifier.input;
  const probes: Probe[] = request.layers.map((l, i) => ({ ...graph.tensors[i], shape: l.map }));
  if (request.input)
    probes.push({ name: graph.input.name, layout: graph.input.layout, shape: [height, width, 3] as MapShape });
  let bytes: Uint8Array;
  try {
    bytes = gradientModel({
      model: graph.model,
      input: graph.input,
      target: logits,
      wrt: probes.map((p) => p.name),
      relu: request.relu,
    });
  } catch (err) {
    if (err instanceof NoGradientRuleError)
      throw usageError(`cannot differentiate ${classifier.model.net.name}: no gradient rule for ${err.message}`);
    throw err;
  }
  const ort = await loadOrt();
  const session = await sessionFor(ort, bytes, `the gradient of ${classifier.model.net.name}`);
  const batch = graph.input.shape[0] === null ? Math.max(1, request.batch ?? 8) : 1;
  const { classes } = classifier;
  return {
    graph,
    weights: graph.weights,
    batch,
    async run(images, seeds) {
      const n = images.length;
      const input = inputBatch(graph, images, [height, width]);
      const seed = new Float32Array(n * classes);
      seeds.forEach((s, i) => seed.set(s, i * classes));
      const feeds = {
        [graph.input.name]: new ort.Tensor('float32', input.data, input.dims),
        [seedName(logits)]: new ort.Tensor('float32', seed, [n, classes]),
      };
      const result = await session.run(feeds);
      const read = (name: string) => result[name].data as Float32Array;
      return images.map((_, i) => {
        const slice = (name: string, p: Probe) => {
          const size = p.shape[0] * p.shape[1] * p.shape[2];
          return channelsLast(item(read(name), i, size), p.layout, p.shape);
        };
        return {
          logits: item(read(logits), i, classes),
          values: probes.map((p) => slice(p.name, p)),
          gradients: probes.map((p) => slice(gradientName(p.name), p)),
        };
      });
    },
    release: () => session.release(),
  };
}
