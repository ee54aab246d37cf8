/**
 * Downloads a file the way Keras' `get_file` does, but safely: into a temporary file beside
 * the destination, checking the md5, then renaming, so that an interrupted or corrupt
 * transfer never leaves a file where a good one is expected.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { tempPathFor, trackTemp, untrackTemp } from '../temp-files.js';

export interface DownloadProgress {
  received: number;
  /** From Content-Length; undefined when the server does not say. */
  total?: number;
}

export interface DownloadOptions {
  md5?: string;
  onProgress?: (progress: DownloadProgress) => void;
  signal?: AbortSignal;
}

export class DownloadError extends Error {
  constructor(
    message: string,
    /** True when the server was never reached or answered: the "offline" case. */
    readonly unreachable: boolean,
  ) {
    super(message);
  }
}

function reasonOf(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (err as Error).message;
}

export async function download(url: string, destination: string, options: DownloadOptions = {}): Promise<void> {
  let response: Response;
  try {
    response = await fetch(url, { signal: options.signal, redirect: 'follow' });
  } catch (err) {
    throw new DownloadError(`cannot reach ${url} (${reasonOf(err)})`, true);
  }
  if (!response.ok || !response.body) {
    throw new DownloadError(`${url} answered HTTP ${response.status}`, response.status >= 500);
  }
  const header = response.headers.get('content-length');
  const total = header === null ? undefined : Number(header);
  await mkdir(dirname(destination), { recursive: true });
  const temporary = tempPathFor(destination);
  trackTemp(temporary);
  const md5 = createHash('md5');
  let received = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      received += chunk.length;
      md5.update(chunk);
      options.onProgress?.({ received, total });
      callback(null, chunk);
    },
  });
  try {
    await pipeline(Readable.fromWeb(response.body as never), meter, createWriteStream(temporary));
    if (total !== undefined && received !== total) {
      throw new DownloadError(`download of ${url} was cut short: ${received} of ${total} bytes`, false);
    }
    const digest = md5.digest('hex');
    if (options.md5 && digest !== options.md5) {
      throw new DownloadError(`download of ${url} is corrupt: md5 ${digest}, expected ${options.md5}`, false);
    }
    await rename(temporary, destination);
  } catch (err) {
    await rm(temporary, { force: true });
    if (err instanceof DownloadError) throw err;
    throw new DownloadError(`download of ${url} failed after ${received} bytes (${reasonOf(err)})`, false);
  } finally {
    untrackTemp(temporary);
  }
}
