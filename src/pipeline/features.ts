/**
 * What featuremaps and report share: from `--model`, `--weights` and the layer choice to an
 * engine that turns input images into the chosen layers' activations (the tutorial's
 * multi-output `Model(inputs, outputs=[...])`), whatever the model's format.
 */
import { usageError } from '../errors.js';
import type { RgbImage } from '../image/decode.js';
import { channelsNote, inputChannels, toInputChannels, type InputChannels } from '../image/channels.js';
import { PREPROCESSORS, type PreprocessMode } from '../image/preprocess.js';
import type { EngineName } from '../engines/backend.js';
import { openModel } from '../formats/model.js';
import type { EngineRequest, Model, WeightsInfo } from '../formats/types.js';
import type { MapShape, Net } from '../net/net.js';
import { selectFeatureLayers } from '../net/select.js';
import { nonFiniteCount, type ChannelStats } from '../render/featuremaps.js';
import { timed } from '../timings.js';

export interface FeatureRequest {
  model: string;
  /** cnnviz's cache folder (formats keep what they worked out about a file there). */
  cacheDir?: string;
  /** `--weights` and `--backend`, checked against the model before any work. */
  weights?: string;
  engine?: EngineName;
  size?: [number, number];
  /** --input: values for a graph model's inputs other than the image. */
  input?: Record<string, number>;
  blocks?: string;
  layers?: string[];
  preprocess?: PreprocessMode;
}

/** The model side of a feature-maps run, before any weight is read. */
export interface FeaturePlan {
  model: Model;
  net: Net;
  layers: string[];
  /** (height, width, channels) of each chosen layer's maps. */
  mapShapes: MapShape[];
  /** The input's size, and the channels images are fed as (grayscale, RGB, RGBA). */
  input: { width: number; height: number; channels: InputChannels };
  preprocessing: PreprocessMode;
  /** Why this preprocessing, when it is a default worth announcing (unset when --preprocess chose). */
  preprocessNote?: string;
  /** How images are fed when not as RGB: said once. */
  channelsNote?: string;
}

export async function planFeatures(request: FeatureRequest): Promise<FeaturePlan> {
  // Layers are looked up in the whole model, so that asking for fc1 says "not spatial", not "unknown".
  const full = await openModel(request.model, {
    includeTop: true,
    size: request.size,
    inputs: request.input,
    cacheDir: request.cacheDir,
    readsWeights: true,
  });
  full.checkChoices({ engine: request.engine, weights: request.weights });
  const layers = selectFeatureLayers(full.net, {
    blocks: request.blocks,
    layers: request.layers,
    defaultLayer: 'block1_conv1',
  });
  // Feature maps rarely need a classifier: then the network is its convolutional base.
  const base = await full.withoutTop?.();
  const model = base && layers.every((name) => base.net.layers.some((l) => l.name === name)) ? base : full;
  const { net } = model;
  const [height, width, channels] = net.input;
  if (typeof height !== 'number' || typeof width !== 'number') {
    throw usageError(`${net.name} leaves its input size undefined; give one with --size WxH`);
  }
  const preprocessing = request.preprocess ?? model.preprocess;
  const fed = inputChannels(net.name, channels, preprocessing);
  const mapShapes = layers.map((name) => {
    const shape = net.layers.find((l) => l.name === name)!.mapShape!;
    if (shape.some((d) => typeof d !== 'number'))
      throw usageError(`the maps of '${name}' have an undefined size; give the input size with --size WxH`);
    return shape as MapShape;
  });
  const preprocessNote = request.preprocess ? undefined : model.preprocessNote;
  const note = channelsNote(fed);
  return {
    model,
    net,
    layers,
    mapShapes,
    input: { width, height, channels: fed },
    preprocessing,
    ...(preprocessNote ? { preprocessNote } : {}),
    ...(note ? { channelsNote: note } : {}),
  };
}

export interface FeatureEngine {
  weights: WeightsInfo;
  /** What runs the forward pass: 'onnx', 'wasm', ... */
  engine: string;
  /** How many calls of `activations` may be under way at once, each running in a thread of its own. */
  lanes: number;
  /** Each image's activations, one flat channels-last array per chosen layer. */
  activations(images: RgbImage[]): Promise<Float32Array[][]>;
  /**
   * Frees one call's activations once nothing will read them (what they were drawn or scored
   * from), where the engine allows it: at 24 MB a VGG16 image, left to the garbage collector
   * they pile up and each new pass pays for fresh memory.
   */
  release(activations: Float32Array[][]): void;
  dispose(): Promise<void>;
}

export async function startFeatureEngine(plan: FeaturePlan, request: EngineRequest): Promise<FeatureEngine> {
  const { layers, input, mapShapes } = plan;
  const { forward, weights } = await plan.model.startEngine(layers, request);
  request.explain?.(`backend: ${forward.engine}`);
  const preprocess = PREPROCESSORS[plan.preprocessing];
  const pixels = input.height * input.width * input.channels;
  return {
    weights,
    engine: forward.engine,
    lanes: forward.lanes ?? 1,
    async activations(images) {
      const batch = new Float32Array(images.length * pixels);
      images.forEach((image, i) => batch.set(preprocess(toInputChannels(image.data, input.channels)), i * pixels));
      const outputs = await timed('forward', () =>
        forward.run(batch, [images.length, input.height, input.width, input.channels]),
      );
      return images.map((_, i) =>
        outputs.map((output, o) => {
          const size = mapShapes[o].reduce((a, b) => a * b, 1);
          return output.subarray(i * size, (i + 1) * size);
        }),
      );
    },
    release: (activations) => forward.release?.(activations.flat()),
    dispose: () => forward.dispose(),
  };
}

/**
 * Says once per run which drawn layer, earliest in the network, first holds NaN or infinite
 * values (a broken weight upstream), and how many: such maps would otherwise be drawn black
 * without a word. Called with each image's per-layer statistics.
 */
export function nonFiniteWatch(
  plan: FeaturePlan,
  notice: (line: string) => void,
): (image: string, stats: ChannelStats[]) => void {
  const position = new Map(plan.net.layers.map((l, i) => [l.name, i]));
  const order = plan.layers
    .map((_, o) => o)
    .sort((a, b) => (position.get(plan.layers[a]) ?? 0) - (position.get(plan.layers[b]) ?? 0));
  let said = false;
  return (image, stats) => {
    if (said) return;
    const first = order.find((o) => nonFiniteCount(stats[o]) > 0);
    if (first === undefined) return;
    said = true;
    const [h, w, c] = plan.mapShapes[first];
    notice(
      `${plan.layers[first]} is the first drawn layer with non-finite values (NaN or infinity): ${nonFiniteCount(stats[first]).toLocaleString('en-US')} of ${(h * w * c).toLocaleString('en-US')} for '${image}'; maps holding them are crossed out`,
    );
  };
}
