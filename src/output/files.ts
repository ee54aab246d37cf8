/**
 * Writing output files so that a failure never leaves half a file: write to a temporary
 * name in the same folder, then rename over the target.
 */
import { randomBytes } from 'node:crypto';
import { rename, rm, writeFile } from 'node:fs/promises';
import type { PixelImage } from '../render/mosaic.js';

export async function writeFileAtomic(path: string, data: Uint8Array): Promise<void> {
  const temporary = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(temporary, data);
    await rename(temporary, path);
  } catch (err) {
    await rm(temporary, { force: true });
    throw err;
  }
}

export async function encodePng(image: PixelImage): Promise<Buffer> {
  const { default: sharp } = await import('sharp');
  const pipeline = sharp(image.data, { raw: { width: image.width, height: image.height, channels: image.channels } });
  // Without this sharp widens grey to RGB: three times the bytes to compress for the same picture.
  if (image.channels === 1) pipeline.toColourspace('b-w');
  return pipeline.png({ compressionLevel: 6 }).toBuffer();
}

/** Encodes with sharp and writes atomically; returns the file's size in bytes. */
export async function writePng(path: string, image: PixelImage): Promise<number> {
  const png = await encodePng(image);
  await writeFileAtomic(path, png);
  return png.length;
}
