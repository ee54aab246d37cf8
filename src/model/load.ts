/**
 * The one model loader every subcommand shares: from `--model` to an architecture (always),
 * and from `--weights` to weight values (only when a command needs them).
 */
import { usageError } from '../errors.js';
import { graphFromKerasConfig, type ModelGraph } from './graph.js';
import { BUILTIN_MODELS, type BuiltinModel } from './zoo.js';
import { buildModel, checkLayerWeights, DEFAULT_SEED } from './build.js';
import { openKerasWeights, type LayerWeights, type WeightArray } from './h5.js';
import { inferShapes } from './shapes.js';
import { resolveWeights, type ResolveOptions } from './weights.js';

export interface Architecture {
  graph: ModelGraph;
  /** Set for the built-in models (vgg16, vgg19). */
  builtin?: BuiltinModel;
}

export async function resolveArchitecture(model: string, options: { includeTop: boolean }): Promise<Architecture> {
  const builtin = BUILTIN_MODELS[model.toLowerCase()];
  if (builtin) return { graph: graphFromKerasConfig(builtin.architecture(options.includeTop)), builtin };
  throw usageError(`unknown model '${model}'; built-in models: ${Object.keys(BUILTIN_MODELS).join(', ')}`);
}

export interface WeightsRequest {
  /** The layers whose weights are needed (a filters picture needs one). */
  layers: string[];
  /** Whether the classifier top is part of the architecture (selects the weights file). */
  includeTop: boolean;
  seed?: number;
  onDownloadStart?: ResolveOptions['onDownloadStart'];
  onProgress?: ResolveOptions['onProgress'];
}

export interface LoadedWeights {
  /** Weight values per layer, or 'random' when `--weights none`. */
  weights: LayerWeights | 'random';
  /** For messages and outputs: 'imagenet (~/.keras/models/...)', 'none (random, seed 42)'. */
  description: string;
  path?: string;
}

/** Resolves `--weights` and reads the values of the requested layers, checked against their shapes. */
export async function loadWeights(arch: Architecture, spec: string, request: WeightsRequest): Promise<LoadedWeights> {
  const source = await resolveWeights(spec, arch.builtin, request);
  if (source.kind === 'none') {
    return { weights: 'random', description: `none (random initial weights, seed ${request.seed ?? DEFAULT_SEED})` };
  }
  const file = await openKerasWeights(source.path);
  try {
    const weights = file.read(request.layers);
    const shapes = new Map(inferShapes(arch.graph).map((s) => [s.layer.name, s]));
    for (const name of request.layers) {
      const expected = shapes.get(name)?.weights;
      if (expected && expected.length > 0) checkLayerWeights(name, expected.map((w) => w.shape), weights.get(name), `weights file '${source.path}'`);
    }
    return { weights, description: `${spec === 'imagenet' ? 'imagenet' : 'file'} (${source.path})`, path: source.path };
  } finally {
    file.close();
  }
}

/** The weight arrays of one layer, from a file or from the seeded initialisers. */
export async function layerWeightArrays(arch: Architecture, layer: string, loaded: LoadedWeights, seed = DEFAULT_SEED): Promise<WeightArray[]> {
  if (loaded.weights !== 'random') return loaded.weights.get(layer) ?? [];
  const model = await buildModel(arch.graph, [layer], { weights: 'random', seed });
  const weights = model.getLayer(layer).weights;
  const arrays = await Promise.all(
    weights.map(async (w) => ({ name: w.name, shape: w.shape as number[], data: (await w.read().data()) as Float32Array })),
  );
  model.dispose();
  return arrays;
}
