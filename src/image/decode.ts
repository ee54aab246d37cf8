/**
 * Decodes an image file to 8-bit RGB, as Keras' `load_img` does through PIL: any format
 * sharp reads (JPEG, PNG, WebP, GIF first frame, TIFF, AVIF), alpha dropped, grey expanded.
 */
import { readFile, stat } from 'node:fs/promises';
import { runtimeError, usageError } from '../errors.js';

export interface RgbImage {
  width: number;
  height: number;
  /** Row-major (height, width, 3). */
  data: Uint8Array;
}

/** Refuse images over 100 megapixels rather than exhaust memory decoding them. */
export const MAX_INPUT_PIXELS = 100_000_000;

export async function decodeImage(path: string, maxPixels = MAX_INPUT_PIXELS): Promise<RgbImage> {
  let bytes: Buffer;
  try {
    const info = await stat(path);
    if (info.isDirectory()) throw usageError(`'${path}' is a directory, not an image`);
    if (info.size === 0) throw usageError(`'${path}' is empty (0 bytes)`);
    bytes = await readFile(path);
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT') throw usageError(`image '${path}' does not exist`);
    throw err;
  }
  const { default: sharp } = await import('sharp');
  try {
    const { data, info } = await sharp(bytes, { limitInputPixels: maxPixels, failOn: 'truncated', pages: 1 })
      .toColourspace('srgb')
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels`);
    return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
  } catch (err) {
    const message = (err as Error).message.split('\n')[0];
    if (/pixel limit/i.test(message)) {
      throw usageError(`'${path}' is larger than ${maxPixels.toLocaleString('en-US')} pixels; refusing to decode it`);
    }
    if (/unsupported image format/i.test(message)) throw usageError(`'${path}' is not an image sharp can read`);
    throw runtimeError(`cannot decode '${path}': ${message}`);
  }
}
