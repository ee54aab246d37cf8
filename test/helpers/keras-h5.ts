/**
 * Writes Keras-layout weight files with h5wasm (variable-length strings, where h5py writes
 * fixed-length ones: the reader must take both). The layout is Keras' legacy save_weights.
 */
import { graphFromKerasConfig, type KerasModelConfig } from '../../src/formats/keras/graph.js';
import { loadH5wasm, type WeightArray } from '../../src/weights/h5.js';
import { inferShapes } from '../../src/formats/keras/shapes.js';
import { vggConfig } from '../../src/formats/vgg.js';
import { existsSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A small deterministic generator, so generated files are the same on every run. */
export function seededValues(count: number, seed: number, scale = 0.1): Float32Array {
  let state = seed >>> 0 || 1;
  return Float32Array.from({ length: count }, () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return (state / 2 ** 32 - 0.5) * 2 * scale;
  });
}

/** Keras-layout weights for every layer of a model config, with seeded values of the right shapes. */
export function layersFor(config: KerasModelConfig, seed = 1): H5Layer[] {
  return inferShapes(graphFromKerasConfig(config)).map((s, i) => ({
    name: s.layer.name,
    weights: (s.weights ?? []).map((w, k) => ({
      name: `${s.layer.name}/${w.name}:0`,
      shape: w.shape,
      data: seededValues(
        w.shape.reduce((a, b) => a * b, 1),
        seed * 1000 + i * 10 + k,
      ),
    })),
  }));
}

/** One layer's weights as a Keras weights file stores them. */
export interface H5Layer {
  name: string;
  weights: WeightArray[];
}

/**
 * Writes weights in Keras' legacy layout (what `save_weights` and keras.applications files
 * hold), or, with `fullModel`, a full-model file: its config in `model_config` and the
 * weights under `model_weights`. The tests and the benchmark make their files with it.
 */
export async function writeKerasH5(
  path: string,
  layers: H5Layer[],
  options: { splitLayerNames?: boolean; fullModel?: KerasModelConfig } = {},
): Promise<void> {
  const h5 = await loadH5wasm();
  const file = new h5.File(path, 'w');
  let root: any = file;
  if (options.fullModel) {
    file.create_attribute('model_config', JSON.stringify(options.fullModel));
    root = file.create_group('model_weights');
  }
  const names = layers.map((l) => l.name);
  if (options.splitLayerNames) {
    const half = Math.ceil(names.length / 2);
    root.create_attribute('layer_names0', names.slice(0, half));
    root.create_attribute('layer_names1', names.slice(half));
  } else {
    root.create_attribute('layer_names', names);
  }
  for (const layer of layers) {
    const group = root.create_group(layer.name);
    group.create_attribute(
      'weight_names',
      layer.weights.map((w) => w.name),
    );
    for (const w of layer.weights) {
      const parts = w.name.split('/');
      let parent = group;
      for (const part of parts.slice(0, -1))
        parent = parent.keys().includes(part) ? parent.get(part) : parent.create_group(part);
      parent.create_dataset({ name: parts[parts.length - 1], data: w.data, shape: w.shape, dtype: '<f' });
    }
  }
  file.close();
}

/** Bumped when the file seededVgg16Weights writes changes, so an older copy in the temp folder is not used. */
const SEEDED_VGG16_VERSION = 1;

/**
 * VGG16's no-top weights (59 MB) in the exact Keras layout, seeded values: written once and
 * shared by the suites that need them (two each wrote their own), atomically, so that parallel
 * workers never read half a file.
 */
export async function seededVgg16Weights(): Promise<string> {
  const path = join(tmpdir(), `cnnviz-test-vgg16-notop-seed5-v${SEEDED_VGG16_VERSION}.h5`);
  if (existsSync(path)) return path;
  const temporary = `${path}.${process.pid}.${Date.now()}.tmp`;
  await writeKerasH5(temporary, layersFor(vggConfig('vgg16', false), 5));
  renameSync(temporary, path);
  return path;
}
