/**
 * Builds the tfjs-layers model that computes the requested layers' outputs, with its weights
 * from a Keras file or, for `--weights none`, from the model's own initialisers, seeded.
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import { runtimeError } from '../../errors.js';
import {
  configLayers,
  truncatedConfig,
  withConfigLayers,
  type DataFormat,
  type KerasModelConfig,
  type ModelGraph,
} from './graph.js';
import type { LayerWeights, WeightArray } from '../../weights/h5.js';
import type { Json } from '../json.js';
import { quietTfjs } from '../../engines/backend.js';

/** Weights for `--weights none`: the same seed gives the same pictures on every run. */
export const DEFAULT_SEED = 42;

/** The random initialisers (GlorotUniform by default) of each layer class that has them. */
const RANDOM_INITIALIZERS: Record<string, string[]> = {
  Conv2D: ['kernel_initializer'],
  Dense: ['kernel_initializer'],
  DepthwiseConv2D: ['depthwise_initializer'],
  SeparableConv2D: ['depthwise_initializer', 'pointwise_initializer'],
};

/** Gives every random initialiser a seed, so `--weights none` is reproducible. */
export function seedInitializers(config: KerasModelConfig, seed: number): KerasModelConfig {
  let counter = seed;
  const seeded = (initializer: Json): Json => ({ ...initializer, config: { ...initializer.config, seed: counter++ } });
  const seededLayers = configLayers(config).map((layer) => {
    const layerConfig: Record<string, Json> = { ...layer.config };
    for (const key of RANDOM_INITIALIZERS[layer.class_name] ?? []) {
      layerConfig[key] ??= { class_name: 'GlorotUniform', config: {} };
    }
    for (const [key, value] of Object.entries(layerConfig)) {
      if (
        key.endsWith('_initializer') &&
        value &&
        typeof value === 'object' &&
        value.config &&
        !/^(Zeros|Ones|Constant|Identity)$/.test(value.class_name)
      ) {
        layerConfig[key] = seeded(value);
      }
    }
    return { ...layer, config: layerConfig };
  });
  return withConfigLayers(config, seededLayers);
}

const shapeText = (shape: readonly (number | null)[]): string => `(${shape.join(', ')})`;

/** Checks a layer's weights from a file against what the layer expects, before any is set. */
export function checkLayerWeights(
  layerName: string,
  expected: number[][],
  found: WeightArray[] | undefined,
  source: string,
): void {
  if (!found) {
    throw runtimeError(`${source} has no weights for layer '${layerName}': is it a file for another model?`);
  }
  if (found.length !== expected.length) {
    throw runtimeError(
      `${source}: layer '${layerName}' holds ${found.length} weight arrays, the model expects ${expected.length}`,
    );
  }
  expected.forEach((shape, i) => {
    if (shapeText(shape) !== shapeText(found[i].shape)) {
      throw runtimeError(
        `${source}: layer '${layerName}' weight '${found[i].name}' has shape ${shapeText(found[i].shape)}, the model expects ${shapeText(shape)}`,
      );
    }
  });
}

export interface BuildOptions {
  /** Weight values per layer, or 'random' for the seeded initialisers. */
  weights: LayerWeights | 'random';
  /** Names the weights' origin in error messages. */
  weightsSource?: string;
  seed?: number;
}

/**
 * A model whose outputs are exactly `outputs` (one forward pass gives all of them, like the
 * tutorial's multi-output `Model(inputs, outputs=[...])`).
 */
export async function buildModel(
  graph: ModelGraph,
  outputs: string[],
  options: BuildOptions,
): Promise<tfl.LayersModel> {
  const tf = await import('@tensorflow/tfjs-core');
  const layers = await import('@tensorflow/tfjs-layers');
  let config = truncatedConfig(graph, outputs);
  if (options.weights === 'random') config = seedInitializers(config, options.seed ?? DEFAULT_SEED);
  const known = tf.serialization.SerializationMap.getMap().classNameMap;
  const layerClasses = configLayers(config).map((l) => String(l.class_name));
  const unknown = [...new Set(layerClasses.filter((c) => !(c in known)))];
  if (unknown.length > 0) {
    throw runtimeError(
      `model '${graph.name}' uses layer class${unknown.length > 1 ? 'es' : ''} ${unknown.join(', ')}, which TensorFlow.js cannot run`,
    );
  }
  let base: tfl.LayersModel;
  try {
    base = await layers.models.modelFromJSON({ modelTopology: config } as never);
  } catch (err) {
    throw runtimeError(`tfjs cannot build model '${graph.name}': ${(err as Error).message.split('\n')[0]}`);
  }
  if (options.weights !== 'random') {
    const source = options.weightsSource ?? 'the weights file';
    for (const layer of base.layers) {
      if (layer.weights.length === 0) continue;
      const found = options.weights.get(layer.name);
      checkLayerWeights(
        layer.name,
        layer.weights.map((w) => w.shape as number[]),
        found,
        source,
      );
      const tensors = found!.map((w) => tf.tensor(w.data, w.shape, 'float32'));
      layer.setWeights(tensors);
      tf.dispose(tensors);
    }
  }
  const heads = outputs.map((name) => base.getLayer(name).output as tfl.SymbolicTensor);
  return layers.model({ inputs: base.inputs, outputs: heads, name: `${graph.name}_features` });
}

/**
 * Runs one forward pass on a channels-last batch and returns each output as a flat
 * channels-last float32 array, tensors disposed. A channels-first model gets its input
 * transposed to (N, C, H, W) and its outputs transposed back, so callers see one layout.
 */
export async function predict(
  model: tfl.LayersModel,
  input: Float32Array,
  shape: [number, number, number, number],
  dataFormat: DataFormat = 'channels_last',
): Promise<Float32Array[]> {
  const tf = await import('@tensorflow/tfjs-core');
  const channelsFirst = dataFormat === 'channels_first';
  const result = tf.tidy(() => {
    const x = tf.tensor4d(input, shape);
    const y = model.predict(channelsFirst ? tf.transpose(x, [0, 3, 1, 2]) : x);
    const outputs = Array.isArray(y) ? y : [y];
    return outputs.map((t) => (channelsFirst && t.rank === 4 ? tf.transpose(t, [0, 2, 3, 1]) : t));
  });
  const arrays = await Promise.all(result.map(async (t) => (await t.data()) as Float32Array));
  tf.dispose(result);
  return arrays;
}

/**
 * The seeded initial weights of the layers `outputs` depend on, read out of a tfjs model
 * built on the cpu backend (initialisers are not a forward pass), so that every engine draws
 * the same untrained network.
 */
export async function randomWeights(graph: ModelGraph, outputs: string[], seed = DEFAULT_SEED): Promise<LayerWeights> {
  const tf = await import('@tensorflow/tfjs-core');
  await import('@tensorflow/tfjs-backend-cpu');
  quietTfjs(tf);
  const previous = tf.getBackend();
  await tf.setBackend('cpu');
  try {
    const model = await buildModel(graph, outputs, { weights: 'random', seed });
    const weights: LayerWeights = new Map();
    for (const layer of model.layers) {
      const values = await Promise.all(
        layer.weights.map(async (w) => ({
          name: w.originalName,
          shape: w.shape as number[],
          data: (await w.read().data()) as Float32Array,
        })),
      );
      weights.set(layer.name, values);
    }
    model.dispose();
    return weights;
  } finally {
    if (previous && previous !== 'cpu') await tf.setBackend(previous);
  }
}
