/**
 * Min-max scaling of feature maps and kernels into [0, 1], on copies. A constant slice
 * (a dead ReLU map) has no range: it becomes 0, never NaN.
 */

export function minMax(values: Float32Array): [min: number, max: number] {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return [min, max];
}

/** Scales `values` by the given range into a new array in [0, 1]. */
export function rescale(values: Float32Array, [min, max]: [number, number]): Float32Array {
  const out = new Float32Array(values.length);
  const range = max - min;
  if (!(range > 0) || !Number.isFinite(range)) return out;
  for (let i = 0; i < values.length; i++) out[i] = (values[i] - min) / range;
  return out;
}

/**
 * Scales each slice on its own range (`each`, pyplot's imshow per subplot) or all slices
 * on their common range (`together`, so that strengths compare).
 */
export function normalizeSlices(slices: Float32Array[], mode: 'each' | 'together'): Float32Array[] {
  if (mode === 'each') return slices.map((s) => rescale(s, minMax(s)));
  const ranges = slices.map(minMax);
  const common: [number, number] = [Math.min(...ranges.map((r) => r[0])), Math.max(...ranges.map((r) => r[1]))];
  return slices.map((s) => rescale(s, common));
}
