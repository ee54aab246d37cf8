/**
 * Decodes an image file to 8-bit RGB, as Keras' `load_img` does through PIL: any format
 * sharp reads (JPEG, PNG, WebP, GIF first frame, TIFF, AVIF), alpha dropped, grey expanded.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { runtimeError, usageError } from '../errors.js';
import { sharpCall } from './sharp.js';

export interface RgbImage {
  width: number;
  height: number;
  /** Row-major (height, width, 3). */
  data: Uint8Array;
}

/** Refuse images over 100 megapixels rather than exhaust memory decoding them. */
export const MAX_INPUT_PIXELS = 100_000_000;

/** What tells one version of a file from another: its size and time, and a hash of its bytes. */
export interface FileIdentity {
  bytes: number;
  mtimeMs: number;
  sha256: string;
}

async function readImageFile(path: string): Promise<Buffer> {
  return (await readImageWithStat(path)).bytes;
}

async function readImageWithStat(path: string): Promise<{ bytes: Buffer; size: number; mtimeMs: number }> {
  try {
    const info = await stat(path);
    if (info.isDirectory()) throw usageError(`'${path}' is a directory, not an image`);
    if (info.size === 0) throw usageError(`'${path}' is empty (0 bytes)`);
    return { bytes: await readFile(path), size: info.size, mtimeMs: info.mtimeMs };
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT') throw usageError(`image '${path}' does not exist`);
    throw err;
  }
}

function decodeError(path: string, err: unknown, maxPixels: number): Error {
  const message = (err as Error).message.split('\n')[0];
  if (/pixel limit/i.test(message)) {
    return usageError(`'${path}' is larger than ${maxPixels.toLocaleString('en-US')} pixels; refusing to decode it`);
  }
  if (/unsupported image format/i.test(message)) return usageError(`'${path}' is not an image sharp can read`);
  return runtimeError(`cannot decode '${path}': ${message}`);
}

/**
 * Checks a file from its header only (exists, is an image, within the pixel limit): cheap
 * enough to run on every input before the costly work starts. Truncation shows in decoding.
 */
export async function checkImage(path: string, maxPixels = MAX_INPUT_PIXELS): Promise<void> {
  const bytes = await readImageFile(path);
  let size: { width: number; height: number };
  try {
    size = await sharpCall('metadata', { bytes, maxPixels });
  } catch (err) {
    throw decodeError(path, err, maxPixels);
  }
  if (size.width * size.height > maxPixels) throw decodeError(path, new Error('pixel limit'), maxPixels);
}

export async function decodeImage(path: string, maxPixels = MAX_INPUT_PIXELS): Promise<RgbImage> {
  return decodeBytes(path, await readImageFile(path), maxPixels);
}

/** The image and the identity of the file it was decoded from (as read, so the two agree). */
export async function decodeImageFile(
  path: string,
  maxPixels = MAX_INPUT_PIXELS,
): Promise<{ image: RgbImage; identity: FileIdentity }> {
  const { bytes, size, mtimeMs } = await readImageWithStat(path);
  const image = await decodeBytes(path, bytes, maxPixels);
  return { image, identity: { bytes: size, mtimeMs, sha256: createHash('sha256').update(bytes).digest('hex') } };
}

async function decodeBytes(path: string, bytes: Buffer, maxPixels: number): Promise<RgbImage> {
  try {
    const { width, height, channels, data } = await sharpCall('decode', { bytes, maxPixels });
    if (channels !== 3) throw new Error(`decoded to ${channels} channels`);
    return { width, height, data };
  } catch (err) {
    throw decodeError(path, err, maxPixels);
  }
}
