/**
 * `--weights` for Keras models: resolved (found or downloaded) without reading, then read
 * only when an engine or a filters picture needs the values, checked against the layers' shapes.
 */
import { fileIdentity } from '../../weights/identity.js';
import { runtimeError } from '../../errors.js';
import { checkLayerWeights, DEFAULT_SEED, randomWeights } from './tfjs-model.js';
import type { Architecture } from './architecture.js';
import { openKerasWeights, type LayerWeights, type WeightArray } from '../../weights/h5.js';
import { inferShapes } from './shapes.js';
import { resolveWeights, type DownloadCallbacks } from '../../weights/resolve.js';
import { timed } from '../../timings.js';

export interface WeightsRequest extends DownloadCallbacks {
  /** The layers whose weights are needed (a filters picture needs one). */
  layers: string[];
  /** Whether the classifier top is part of the architecture (selects the weights file). */
  includeTop: boolean;
  seed?: number;
  /**
   * For a model holding models: the values as files keep them (by the inner models' names) to
   * the flat layers' names. The whole file is read then, since its names are not the layers'.
   */
  flatten?: (weights: LayerWeights) => LayerWeights;
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

async function readWeightsFile(path: string, layers?: string[]): Promise<LayerWeights> {
  return timed('read .h5', async () => {
    const file = await openKerasWeights(path);
    try {
      return file.read(layers);
    } finally {
      file.close();
    }
  });
}

/**
 * Resolves `--weights` (finding or downloading the file) without reading it. For a model
 * file, the default ('imagenet') means the weights the file holds.
 */
export async function resolveWeightsHandle(
  arch: Architecture,
  spec: string,
  request: WeightsRequest,
): Promise<WeightsHandle> {
  // Read once while someone holds the values, and only held weakly here: held for good,
  // VGG16's 58 MB of weights would stay in memory while ONNX Runtime optimises their translation.
  const checked = (path: string, read: () => Promise<LayerWeights>) => {
    let pending: Promise<LayerWeights> | undefined;
    let held: WeakRef<LayerWeights> | undefined;
    return async () => {
      const alive = held?.deref();
      if (alive) return alive;
      pending ??= read().then((read) => {
        const weights = request.flatten ? request.flatten(read) : read;
        checkWeightShapes(arch, request.layers, weights, path);
        held = new WeakRef(weights);
        pending = undefined;
        return weights;
      });
      return pending;
    };
  };
  if (arch.file && spec === 'imagenet') {
    const { path, model } = arch.file;
    return {
      description: `from the model file (${path})`,
      path,
      identity: await fileIdentity(model.files),
      read: checked(path, () => model.readWeights()),
    };
  }
  const source = await resolveWeights(spec, arch.builtin, request);
  if (source.kind === 'none') {
    const seed = request.seed ?? DEFAULT_SEED;
    return {
      description: `none (random initial weights, seed ${seed})`,
      identity: `random:${seed}`,
      read: async () => 'random',
    };
  }
  return {
    description: `${spec === 'imagenet' ? 'imagenet' : 'file'} (${source.path})`,
    path: source.path,
    identity: await fileIdentity([source.path]),
    read: checked(source.path, () => readWeightsFile(source.path, request.flatten ? undefined : request.layers)),
  };
}

function checkWeightShapes(arch: Architecture, layers: string[], weights: LayerWeights, path: string): void {
  const shapes = new Map(inferShapes(arch.graph).map((s) => [s.layer.name, s]));
  for (const name of layers) {
    const expected = shapes.get(name)?.weights;
    if (expected && expected.length > 0)
      checkLayerWeights(
        name,
        expected.map((w) => w.shape),
        weights.get(name),
        `weights file '${path}'`,
      );
  }
}

/** Resolves `--weights` and reads the values of the requested layers, checked against their shapes. */
export async function loadWeights(arch: Architecture, spec: string, request: WeightsRequest): Promise<LoadedWeights> {
  const handle = await resolveWeightsHandle(arch, spec, request);
  return { weights: await handle.read(), description: handle.description, path: handle.path };
}

/** The weight arrays of one layer, from a file or from the seeded initialisers. */
export async function layerWeightArrays(
  arch: Architecture,
  layer: string,
  loaded: LoadedWeights,
  seed = DEFAULT_SEED,
): Promise<WeightArray[]> {
  if (loaded.weights !== 'random') {
    const arrays = loaded.weights.get(layer);
    if (!arrays) throw runtimeError(`no weights for layer '${layer}' in ${loaded.path}`);
    return arrays;
  }
  return (await randomWeights(arch.graph, [layer], seed)).get(layer) ?? [];
}
