/**
 * Resizing to the model's input size. The default matches Keras' `load_img(target_size=...)`,
 * which uses PIL's NEAREST, pixel for pixel at every pair of sizes.
 */
import type { RgbImage } from './decode.js';
import { sharpCall } from './sharp.js';

export type ResizeMethod = 'nearest' | 'bilinear' | 'area';
export const RESIZE_METHODS: ResizeMethod[] = ['nearest', 'bilinear', 'area'];

/**
 * The source index PIL's nearest filter picks for each destination index. PIL (ImagingScaleAffine)
 * starts at half a step and adds the step src / dst once per pixel, in doubles, truncating each
 * sum; the rounding of that running sum, not the formula floor((i + 0.5) * src / dst), decides
 * the picks (300 rows to 385: rows 38 and 115 differ), so it is done the same way here.
 */
export function pilNearestIndices(src: number, dst: number): Int32Array {
  const step = src / dst;
  const picks = new Int32Array(dst);
  let position = step * 0.5;
  for (let i = 0; i < dst; i++) {
    picks[i] = Math.min(src - 1, Math.trunc(position));
    position += step;
  }
  return picks;
}

/** PIL-exact nearest neighbour, sampled from the raw pixels (sharp's nearest picks others). */
export function resizeNearest(image: RgbImage, width: number, height: number): RgbImage {
  const xs = pilNearestIndices(image.width, width);
  const ys = pilNearestIndices(image.height, height);
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const row = ys[y] * image.width;
    for (let x = 0; x < width; x++) {
      const s = (row + xs[x]) * 3;
      const d = (y * width + x) * 3;
      data[d] = image.data[s];
      data[d + 1] = image.data[s + 1];
      data[d + 2] = image.data[s + 2];
    }
  }
  return { width, height, data };
}

/** For each destination index, the source indices it covers and their shares (summing to 1). */
function areaTaps(
  src: number,
  dst: number,
): { start: Int32Array; count: Int32Array; index: Int32Array; weight: Float64Array } {
  const index: number[] = [];
  const weight: number[] = [];
  const start = new Int32Array(dst);
  const count = new Int32Array(dst);
  for (let i = 0; i < dst; i++) {
    const from = (i * src) / dst;
    const to = ((i + 1) * src) / dst;
    start[i] = index.length;
    for (let s = Math.floor(from); s < Math.min(src, Math.ceil(to)); s++) {
      const overlap = Math.min(to, s + 1) - Math.max(from, s);
      if (overlap > 0) {
        index.push(s);
        weight.push(overlap / (to - from));
      }
    }
    count[i] = index.length - start[i];
  }
  return { start, count, index: Int32Array.from(index), weight: Float64Array.from(weight) };
}

/**
 * Box-filter ("area") resize: each destination pixel is the mean of the source area it
 * covers, partial pixels weighted by their overlap. Separable: rows first, then columns.
 */
export function resizeArea(image: RgbImage, width: number, height: number): RgbImage {
  const tx = areaTaps(image.width, width);
  const ty = areaTaps(image.height, height);
  const rows = new Float64Array(image.height * width * 3);
  for (let y = 0; y < image.height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) {
        let sum = 0;
        for (let t = tx.start[x]; t < tx.start[x] + tx.count[x]; t++)
          sum += image.data[(y * image.width + tx.index[t]) * 3 + c] * tx.weight[t];
        rows[(y * width + x) * 3 + c] = sum;
      }
    }
  }
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width * 3; x++) {
      let sum = 0;
      for (let t = ty.start[y]; t < ty.start[y] + ty.count[y]; t++)
        sum += rows[ty.index[t] * width * 3 + x] * ty.weight[t];
      data[y * width * 3 + x] = Math.round(sum);
    }
  }
  return { width, height, data };
}

/** Antialiased bilinear (triangle filter) through libvips, as PIL's BILINEAR does. */
async function resizeBilinear(image: RgbImage, width: number, height: number): Promise<RgbImage> {
  const { data } = await sharpCall('resize', { image: { ...image, channels: 3 }, width, height });
  return { width, height, data };
}

export async function resizeImage(
  image: RgbImage,
  width: number,
  height: number,
  method: ResizeMethod,
): Promise<RgbImage> {
  if (image.width === width && image.height === height) return image;
  if (method === 'bilinear') return resizeBilinear(image, width, height);
  return method === 'area' ? resizeArea(image, width, height) : resizeNearest(image, width, height);
}
