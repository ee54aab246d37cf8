/**
 * Writes Keras-layout weight files with h5wasm (variable-length strings, where h5py writes
 * fixed-length ones: the reader must take both). The layout is Keras' legacy save_weights.
 */
import { graphFromKerasConfig, type KerasModelConfig } from '../../src/model/graph.js';
import { writeKerasH5, type H5Layer } from '../../src/model/h5.js';

export { writeKerasH5, type H5Layer };
import { inferShapes } from '../../src/model/shapes.js';

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
      data: seededValues(w.shape.reduce((a, b) => a * b, 1), seed * 1000 + i * 10 + k),
    })),
  }));
}
