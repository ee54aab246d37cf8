/** A Gaussian blur of an image (libvips through sharp): Integrated Gradients' blurred baseline. */
import type { RgbImage } from './decode.js';
import { loadSharp } from './sharp.js';

export async function blurImage(image: RgbImage, sigma: number): Promise<RgbImage> {
  const sharp = await loadSharp();
  const out = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .blur(Math.max(0.3, sigma))
    .raw()
    .toBuffer();
  return { width: image.width, height: image.height, data: new Uint8Array(out.buffer, out.byteOffset, out.length) };
}
