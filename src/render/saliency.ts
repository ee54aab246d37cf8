/**
 * Saliency maps from input gradients: pure arithmetic. The picture is what the papers show
 * (Simonyan et al.; Smilkov et al.): the gradient's magnitude, the largest over colour channels,
 * clipped at its 99th percentile so a few extreme pixels do not turn the rest black.
 */
import { colorize, colormapLut } from './colormap.js';
import { minMax } from './normalize.js';
import { scaleForMinSize, type PixelImage } from './mosaic.js';

/** |g| (h, w, c), the largest over channels, as an (h, w) plane. */
export function gradientMagnitude(g: Float32Array, channels: number): Float32Array {
  const out = new Float32Array(g.length / channels);
  for (let i = 0; i < out.length; i++) {
    let top = 0;
    for (let k = 0; k < channels; k++) top = Math.max(top, Math.abs(g[i * channels + k]));
    out[i] = top;
  }
  return out;
}

/** The value below which `q` of the values lie (nearest rank, as numpy's 'lower' percentile). */
export function quantile(values: Float32Array, q: number): number {
  const sorted = Float32Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.floor(q * (sorted.length - 1))))];
}

/** The plane divided by its 99th percentile and clipped to [0, 1]; all zeros where the gradient is. */
export function clippedSaliency(plane: Float32Array): Float32Array {
  const top = quantile(plane, 0.99) || minMax(plane)[1];
  return top > 0 ? plane.map((v) => Math.min(1, v / top)) : new Float32Array(plane.length);
}

/**
 * The map as a grey picture at the input's resolution, each pixel enlarged to a square block so
 * the shorter side reaches `minSize` (a 64x64 input is not a picture one can read otherwise).
 */
export function saliencyPicture(map: Float32Array, width: number, height: number, minSize = 256): PixelImage {
  const factor = scaleForMinSize(width, height, minSize);
  const grey = colorize(map, width, height, colormapLut('gray'));
  const data = new Uint8Array(width * height * factor * factor);
  for (let y = 0; y < height * factor; y++)
    for (let x = 0; x < width * factor; x++)
      data[y * width * factor + x] = grey.data[Math.floor(y / factor) * width + Math.floor(x / factor)];
  return { width: width * factor, height: height * factor, channels: 1, data };
}
