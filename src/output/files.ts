/**
 * Writing output files so that a failure never leaves half a file: write to a temporary
 * name in the same folder, then rename over the target.
 */
import { closeSync, openSync, renameSync, rmSync, write, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { rename, rm, stat, writeFile } from 'node:fs/promises';
import { makeFolder, pathInside } from '../folders.js';
import { join } from 'node:path';
import { fileSystemReason, runtimeError, usageError } from '../errors.js';
import { removeDeadTemps, tempPathFor, trackTemp, untrackTemp } from '../temp-files.js';
import type { PixelImage } from '../render/mosaic.js';
import { sharpCall } from '../image/sharp.js';
import { encodeGreyPng } from './png.js';

/**
 * A path for a file cnnviz writes: `parts` joined below the output folder `root`, refused when
 * they would lead out of it (a name taken from a file is never trusted to stay put).
 */
export function outputPath(root: string, ...parts: string[]): string {
  const path = pathInside(root, join(...parts));
  if (!path) throw usageError(`refusing to write '${join(root, ...parts)}': it is outside the output folder '${root}'`);
  return join(root, ...parts);
}

/**
 * A file-system error of a write, made to name the file the user asked for: a full disk fails
 * `write` on a handle (no path at all) or the temporary's rename (a name the user never chose).
 */
function namingTarget(err: unknown, path: string): unknown {
  const failure = err as NodeJS.ErrnoException;
  if (failure && typeof failure === 'object' && failure.code) {
    failure.path = path;
    failure.syscall = 'write';
  }
  return err;
}

const writeAt = promisify(write);

/**
 * All of `data` to the open file `fd`: in one write where the kernel takes it whole (one round
 * trip to the thread pool, where fs.promises' writeFile takes an open, a write per 512 KB and a
 * close, each waiting for this thread to pass it on).
 */
async function writeAll(fd: number, data: Uint8Array): Promise<void> {
  for (let done = 0; done < data.length;)
    done += (await writeAt(fd, data, done, data.length - done, done)).bytesWritten;
}

export async function writeFileAtomic(path: string, data: Uint8Array): Promise<void> {
  const temporary = tempPathFor(path);
  trackTemp(temporary);
  try {
    // Created here, on the main thread, and only written on the thread pool: a Ctrl-C handler
    // that removes the temporaries then sees every one that exists, and none appears after it
    // (an asynchronous create could land after the removal).
    const fd = openSync(temporary, 'wx');
    try {
      await writeAll(fd, data);
    } finally {
      closeSync(fd);
    }
    await rename(temporary, path);
  } catch (err) {
    await rm(temporary, { force: true });
    throw namingTarget(err, path);
  } finally {
    untrackTemp(temporary);
  }
}

/** The same, synchronously: for a signal handler, after which the process ends. */
export function writeFileAtomicSync(path: string, data: Uint8Array): void {
  const temporary = tempPathFor(path);
  try {
    writeFileSync(temporary, data);
    renameSync(temporary, path);
  } catch (err) {
    rmSync(temporary, { force: true });
    throw namingTarget(err, path);
  }
}

/**
 * A PNG of the picture: grey ones encoded here (png.ts), colour ones in the image worker (the
 * request leaves before this returns).
 */
export async function encodePng(image: PixelImage): Promise<Buffer> {
  if (image.channels === 1) return encodeGreyPng(image);
  const png = await sharpCall('png', { image });
  return Buffer.from(png.buffer, png.byteOffset, png.length);
}

/** Encodes and writes atomically; returns the file's size in bytes. */
export async function writePng(path: string, image: PixelImage): Promise<number> {
  const png = await encodePng(image);
  await writeFileAtomic(path, png);
  return png.length;
}

export interface WrittenFile {
  path: string;
  bytes: number;
  /** What the file shows, in a few words. */
  shows: string;
}

/**
 * Creates the output folder and proves it writable (a probe file, removed at once), so that a
 * read-only, full or immutable folder fails before any work; leftovers of killed runs go.
 */
export async function prepareOutputDir(dir: string): Promise<void> {
  const existing = await stat(dir).catch(() => undefined);
  if (existing && !existing.isDirectory()) throw usageError(`output path '${dir}' is a file, not a folder`);
  try {
    await makeFolder(dir);
  } catch (err) {
    throw runtimeError(`cannot create output folder '${dir}': ${fileSystemReason(err)}`);
  }
  const probe = tempPathFor(join(dir, 'probe'));
  try {
    await writeFile(probe, 'cnnviz');
  } catch (err) {
    throw runtimeError(`cannot write in output folder '${dir}': ${fileSystemReason(err)}`);
  } finally {
    await rm(probe, { force: true });
  }
  // Two levels: out/<image>/ of batches, out/<layer>/sources/ of examples shards.
  await removeDeadTemps(dir, 2);
}
