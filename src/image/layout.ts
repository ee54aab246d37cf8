/**
 * One image or map of a batch of one, moved between channels-last (h, w, c) and channels-first
 * (c, h, w) order: for graphs that take or hold NCHW tensors where cnnviz works channels-last.
 */
export function toChannelsFirst(hwc: Float32Array, [h, w, c]: readonly number[]): Float32Array {
  return Float32Array.from({ length: hwc.length }, (_, i) => hwc[(i % (h * w)) * c + Math.floor(i / (h * w))]);
}

export function toChannelsLast(chw: Float32Array, [h, w, c]: readonly number[]): Float32Array {
  return Float32Array.from({ length: chw.length }, (_, i) => chw[(i % c) * h * w + Math.floor(i / c)]);
}
