/**
 * One image or map of a batch of one, moved between channels-last (h, w, c) and channels-first
 * (c, h, w) order: for graphs that take or hold NCHW tensors where cnnviz works channels-last.
 * Plain loops: a 224x224 image moves in well under a millisecond.
 */
export function toChannelsFirst(hwc: Float32Array, [h, w, c]: readonly number[]): Float32Array {
  const out = new Float32Array(hwc.length);
  const plane = h * w;
  for (let p = 0; p < plane; p++) for (let k = 0; k < c; k++) out[k * plane + p] = hwc[p * c + k];
  return out;
}

export function toChannelsLast(chw: Float32Array, [h, w, c]: readonly number[]): Float32Array {
  const out = new Float32Array(chw.length);
  const plane = h * w;
  for (let k = 0; k < c; k++) for (let p = 0; p < plane; p++) out[p * c + k] = chw[k * plane + p];
  return out;
}
