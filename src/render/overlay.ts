/**
 * A layer's activation laid over the input image: the mean over channels (or one channel),
 * scaled to [0, 1], enlarged to the image size bilinearly, colour-mapped and alpha-blended.
 */
import type { RgbImage } from '../image/decode.js';
import { lutIndex, type Lut } from './colormap.js';
import type { MapShape } from '../net/net.js';
import { minMax, rescale } from './normalize.js';
import type { PixelImage } from './mosaic.js';

/** The mean over channels, or channel `channel`, as an (H, W) plane. */
export function activationPlane(activation: Float32Array, [h, w, c]: MapShape, channel?: number): Float32Array {
  const out = new Float32Array(h * w);
  for (let i = 0; i < h * w; i++) {
    if (channel !== undefined) out[i] = activation[i * c + channel];
    else {
      let sum = 0;
      for (let k = 0; k < c; k++) sum += activation[i * c + k];
      out[i] = sum / c;
    }
  }
  return out;
}

/**
 * Bilinear resampling with aligned pixel centres (as OpenCV's and PIL's resize), or with aligned
 * corners (PyTorch's UpsamplingBilinear2d: the first and last pixels map onto each other).
 */
export function resizeBilinear(
  plane: Float32Array,
  [h, w]: [number, number],
  [outH, outW]: [number, number],
  alignCorners = false,
): Float32Array {
  const out = new Float32Array(outH * outW);
  const source = (length: number, outLength: number, i: number) =>
    alignCorners ? (outLength > 1 ? (i * (length - 1)) / (outLength - 1) : 0) : (i + 0.5) * (length / outLength) - 0.5;
  const sample = (length: number, outLength: number, i: number): [number, number, number] => {
    const x = Math.min(Math.max(source(length, outLength, i), 0), length - 1);
    const x0 = Math.floor(x);
    return [x0, Math.min(x0 + 1, length - 1), x - x0];
  };
  for (let y = 0; y < outH; y++) {
    const [y0, y1, fy] = sample(h, outH, y);
    for (let x = 0; x < outW; x++) {
      const [x0, x1, fx] = sample(w, outW, x);
      const top = plane[y0 * w + x0] * (1 - fx) + plane[y0 * w + x1] * fx;
      const bottom = plane[y1 * w + x0] * (1 - fx) + plane[y1 * w + x1] * fx;
      out[y * outW + x] = top * (1 - fy) + bottom * fy;
    }
  }
  return out;
}

export function overlay(
  image: RgbImage,
  plane: Float32Array,
  planeShape: [number, number],
  lut: Lut,
  alpha: number,
): PixelImage {
  const heat = resizeBilinear(rescale(plane, minMax(plane)), planeShape, [image.height, image.width]);
  const data = new Uint8Array(image.data.length);
  for (let i = 0; i < heat.length; i++) {
    const entry = 3 * lutIndex(heat[i]);
    for (let c = 0; c < 3; c++)
      data[3 * i + c] = Math.round((1 - alpha) * image.data[3 * i + c] + alpha * lut[entry + c]);
  }
  return { width: image.width, height: image.height, channels: 3, data };
}
