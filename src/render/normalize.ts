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

/** The softmax of scores, in float64: class probabilities from logits, Score-CAM's channel weights. */
export function softmax(scores: ArrayLike<number>): Float64Array {
  let top = -Infinity;
  for (let i = 0; i < scores.length; i++) top = Math.max(top, scores[i]);
  const exps = Float64Array.from(scores, (s) => Math.exp(s - top));
  const sum = exps.reduce((x, y) => x + y, 0);
  return exps.map((e) => e / sum);
}
