/** A Gaussian blur of an image (libvips through sharp): Integrated Gradients' blurred baseline. */
import type { RgbImage } from './decode.js';
import { sharpCall } from './sharp.js';

export async function blurImage(image: RgbImage, sigma: number): Promise<RgbImage> {
  const { data } = await sharpCall('blur', { image: { ...image, channels: 3 }, sigma });
  return { width: image.width, height: image.height, data };
}
