/**
 * The one model loader every subcommand shares: from `--model` to an architecture (always),
 * and from `--weights` to weight values (only when a command needs them).
 */
import { existsSync } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { usageError, runtimeError } from '../errors.js';
import type { PreprocessMode } from '../image/preprocess.js';
import { checkLayerWeights, DEFAULT_SEED, randomWeights } from '../engines/tfjs.js';
import { graphFromKerasConfig, type KerasModelConfig, type ModelGraph } from './keras/graph.js';
import { MODEL_FILE_KINDS, readModelFile, type ModelFile } from './keras/files.js';
import { openKerasWeights, type LayerWeights, type WeightArray } from '../weights/h5.js';
import { inferShapes } from './keras/shapes.js';
import { resolveWeights, type ResolveOptions } from '../weights/resolve.js';
import { timed } from '../timings.js';
import { BUILTIN_MODELS, type BuiltinModel } from './builtin.js';

export interface Architecture {
  graph: ModelGraph;
  /** Set for the built-in models (vgg16, vgg19). */
  builtin?: BuiltinModel;
  /** Set for models read from a file; they carry their own weights. */
  file?: { path: string; model: ModelFile };
  /** How this model's input is prepared unless --preprocess says otherwise. */
  preprocess: PreprocessMode;
}

export interface ArchitectureOptions {
  includeTop: boolean;
  /** Input width and height, for models that leave them undefined (or to override them). */
  size?: [width: number, height: number];
}

/** Sets the input's spatial size in a Keras config (on the InputLayer, or a Sequential model's first layer). */
export function withInputSize(config: KerasModelConfig, [width, height]: [number, number]): KerasModelConfig {
  const copy: KerasModelConfig = JSON.parse(JSON.stringify(config));
  const layers: any[] = Array.isArray(copy.config) ? copy.config : copy.config.layers;
  const first = layers.find((l) => l.config?.batch_input_shape);
  if (!first) throw usageError('the model declares no input shape to resize');
  const shape = first.config.batch_input_shape;
  const channelsFirst = layers.some((l) => l.config?.data_format === 'channels_first');
  if (shape.length !== 4) throw usageError(`--size applies to image inputs; this model's input is ${JSON.stringify(shape)}`);
  first.config.batch_input_shape = channelsFirst ? [shape[0], shape[1], height, width] : [shape[0], height, width, shape[3]];
  return copy;
}

export async function resolveArchitecture(model: string, options: ArchitectureOptions): Promise<Architecture> {
  const builtin = BUILTIN_MODELS[model.toLowerCase()];
  const sized = (config: KerasModelConfig) => (options.size ? withInputSize(config, options.size) : config);
  if (builtin) {
    return { graph: graphFromKerasConfig(sized(builtin.architecture(options.includeTop))), builtin, preprocess: builtin.preprocess };
  }
  if (existsSync(model)) {
    const file = await readModelFile(model);
    return { graph: graphFromKerasConfig(sized(file.config)), file: { path: model, model: file }, preprocess: 'unit' };
  }
  throw usageError(`unknown model '${model}': not a built-in model (${Object.keys(BUILTIN_MODELS).join(', ')}) nor an existing file (${MODEL_FILE_KINDS})`);
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

/** Resolved `--weights`, not yet read: engines that cache a prepared model may never read them. */
export interface WeightsHandle {
  description: string;
  path?: string;
  /**
   * What the values are, for caches: the file(s) with size and modification time, or the
   * seed. Undefined where it cannot be known (values given in memory).
   */
  identity?: string;
  /** Reads the values of the requested layers, checked against their shapes (once). */
  read(): Promise<LayerWeights | 'random'>;
}

/** Weights already in memory, as a handle (no identity: never cached). */
export function inMemoryWeights(weights: LayerWeights | 'random', description = 'in memory'): WeightsHandle {
  return { description, read: async () => weights };
}

async function readWeightsFile(path: string, layers: string[]): Promise<LayerWeights> {
  return timed('read .h5', async () => {
    const file = await openKerasWeights(path);
    try {
      return file.read(layers);
    } finally {
      file.close();
    }
  });
}

async function fileIdentity(paths: string[]): Promise<string> {
  const stats = await Promise.all(paths.map(async (p) => ({ path: await realpath(p), ...(({ size, mtimeMs }) => ({ size, mtimeMs }))(await stat(p)) })));
  return JSON.stringify(stats);
}

/**
 * Resolves `--weights` (finding or downloading the file) without reading it. For a model
 * file, the default ('imagenet') means the weights the file holds.
 */
export async function resolveWeightsHandle(arch: Architecture, spec: string, request: WeightsRequest): Promise<WeightsHandle> {
  const checked = (path: string, read: () => Promise<LayerWeights>) => {
    let values: Promise<LayerWeights> | undefined;
    return () => {
      values ??= read().then((weights) => {
        checkWeightShapes(arch, request.layers, weights, path);
        return weights;
      });
      return values;
    };
  };
  if (arch.file && spec === 'imagenet') {
    const { path, model } = arch.file;
    return { description: `from the model file (${path})`, path, identity: await fileIdentity(model.files), read: checked(path, () => model.readWeights()) };
  }
  const source = await resolveWeights(spec, arch.builtin, request);
  if (source.kind === 'none') {
    const seed = request.seed ?? DEFAULT_SEED;
    return { description: `none (random initial weights, seed ${seed})`, identity: `random:${seed}`, read: async () => 'random' };
  }
  return {
    description: `${spec === 'imagenet' ? 'imagenet' : 'file'} (${source.path})`,
    path: source.path,
    identity: await fileIdentity([source.path]),
    read: checked(source.path, () => readWeightsFile(source.path, request.layers)),
  };
}

function checkWeightShapes(arch: Architecture, layers: string[], weights: LayerWeights, path: string): void {
  const shapes = new Map(inferShapes(arch.graph).map((s) => [s.layer.name, s]));
  for (const name of layers) {
    const expected = shapes.get(name)?.weights;
    if (expected && expected.length > 0) checkLayerWeights(name, expected.map((w) => w.shape), weights.get(name), `weights file '${path}'`);
  }
}

/** Resolves `--weights` and reads the values of the requested layers, checked against their shapes. */
export async function loadWeights(arch: Architecture, spec: string, request: WeightsRequest): Promise<LoadedWeights> {
  const handle = await resolveWeightsHandle(arch, spec, request);
  return { weights: await handle.read(), description: handle.description, path: handle.path };
}

/** The weight arrays of one layer, from a file or from the seeded initialisers. */
export async function layerWeightArrays(arch: Architecture, layer: string, loaded: LoadedWeights, seed = DEFAULT_SEED): Promise<WeightArray[]> {
  if (loaded.weights !== 'random') {
    const arrays = loaded.weights.get(layer);
    if (!arrays) throw runtimeError(`no weights for layer '${layer}' in ${loaded.path}`);
    return arrays;
  }
  return (await randomWeights(arch.graph, [layer], seed)).get(layer) ?? [];
}
