/**
 * Cutting a region out of an image and fitting an image into a square tile, for dataset
 * examples: pure pixels, the same result on every machine (a merge of shards redraws exactly
 * what one run draws).
 */
import type { Box } from '../net/receptive.js';
import type { RgbImage } from './decode.js';
import { resizeArea, resizeNearest } from './resize.js';

export function cropImage(image: RgbImage, [x0, y0, x1, y1]: Box): RgbImage {
  const width = x1 - x0;
  const height = y1 - y0;
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++)
    data.set(image.data.subarray(((y0 + y) * image.width + x0) * 3, ((y0 + y) * image.width + x1) * 3), y * width * 3);
  return { width, height, data };
}

/** Where an image of width x height sits inside a square of `size`, aspect kept: [x, y, w, h]. */
export function fitRect(width: number, height: number, size: number): [number, number, number, number] {
  const scale = Math.min(size / width, size / height);
  const w = Math.max(1, Math.round(width * scale));
  const h = Math.max(1, Math.round(height * scale));
  return [Math.floor((size - w) / 2), Math.floor((size - h) / 2), w, h];
}

/**
 * The image in a size x size tile, aspect kept, the rest `background` grey. Shrinking averages
 * (area), enlarging repeats pixels (nearest): a 5-pixel field shows as crisp blocks.
 */
export function fitImage(image: RgbImage, size: number, background = 64): RgbImage {
  const [x, y, w, h] = fitRect(image.width, image.height, size);
  const scaled = w < image.width || h < image.height ? resizeArea(image, w, h) : resizeNearest(image, w, h);
  const data = new Uint8Array(size * size * 3).fill(background);
  for (let row = 0; row < h; row++)
    data.set(scaled.data.subarray(row * w * 3, (row + 1) * w * 3), ((y + row) * size + x) * 3);
  return { width: size, height: size, data };
}
