/**
 * Writing output files so that a failure never leaves half a file: write to a temporary
 * name in the same folder, then rename over the target.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { runtimeError, usageError } from '../errors.js';
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

/** A layer name as part of a file name: ONNX node names ('/layer1/layer1.0/relu/Relu') hold slashes. */
export function fileSafe(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[_.]+|_+$/g, '') || 'layer';
}

export interface WrittenFile {
  path: string;
  bytes: number;
  /** What the file shows, in a few words. */
  shows: string;
}

/** Creates the output folder; a path that is a file, or unwritable, is the user's to fix. */
export async function prepareOutputDir(dir: string): Promise<void> {
  const existing = await stat(dir).catch(() => undefined);
  if (existing && !existing.isDirectory()) throw usageError(`output path '${dir}' is a file, not a folder`);
  try {
    await mkdir(dir, { recursive: true });
  } catch (err) {
    throw runtimeError(`cannot create output folder '${dir}': ${(err as Error).message}`);
  }
}
