/**
 * Resizing to the model's input size. The default matches Keras' `load_img(target_size=...)`,
 * which uses PIL's NEAREST: destination pixel i samples source pixel floor((i + 0.5) * src / dst).
 */
import type { RgbImage } from './decode.js';

export type ResizeMethod = 'nearest' | 'bilinear' | 'area';
export const RESIZE_METHODS: ResizeMethod[] = ['nearest', 'bilinear', 'area'];

/** The source index PIL's nearest filter picks for each destination index. */
export function pilNearestIndices(src: number, dst: number): Int32Array {
  const scale = src / dst;
  return Int32Array.from({ length: dst }, (_, i) => Math.min(src - 1, Math.floor((i + 0.5) * scale)));
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

/**
 * Box-filter ("area") resize: each destination pixel is the mean of the source area it
 * covers, partial pixels weighted by their overlap.
 */
export function resizeArea(image: RgbImage, width: number, height: number): RgbImage {
  const weights = (src: number, dst: number): Array<Array<[index: number, weight: number]>> =>
    Array.from({ length: dst }, (_, i) => {
      const start = (i * src) / dst;
      const end = ((i + 1) * src) / dst;
      const taps: Array<[number, number]> = [];
      for (let s = Math.floor(start); s < Math.min(src, Math.ceil(end)); s++) {
        const overlap = Math.min(end, s + 1) - Math.max(start, s);
        if (overlap > 0) taps.push([s, overlap / (end - start)]);
      }
      return taps;
    });
  const wx = weights(image.width, width);
  const wy = weights(image.height, height);
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) {
        let sum = 0;
        for (const [sy, fy] of wy[y]) for (const [sx, fx] of wx[x]) sum += image.data[(sy * image.width + sx) * 3 + c] * fy * fx;
        data[(y * width + x) * 3 + c] = Math.round(sum);
      }
    }
  }
  return { width, height, data };
}

/** Antialiased bilinear (triangle filter) through libvips, as PIL's BILINEAR does. */
async function resizeBilinear(image: RgbImage, width: number, height: number): Promise<RgbImage> {
  const { default: sharp } = await import('sharp');
  const out = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .resize(width, height, { fit: 'fill', kernel: 'linear' })
    .raw()
    .toBuffer();
  return { width, height, data: new Uint8Array(out.buffer, out.byteOffset, out.length) };
}

export async function resizeImage(image: RgbImage, width: number, height: number, method: ResizeMethod): Promise<RgbImage> {
  if (image.width === width && image.height === height) return image;
  if (method === 'bilinear') return resizeBilinear(image, width, height);
  return method === 'area' ? resizeArea(image, width, height) : resizeNearest(image, width, height);
}
