/**
 * What the picture-writing commands share: the output folder, the list of written files,
 * and the download progress shown while weights arrive.
 */
import { mkdir, stat } from 'node:fs/promises';
import { usageError, runtimeError } from '../errors.js';
import type { Reporter } from './context.js';
import type { DownloadProgress } from '../weights/download.js';
import type { WeightsFile } from '../formats/builtin.js';

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

export const humanBytes = (n: number): string =>
  n < 1024 ? `${n} B` : n < 1024 ** 2 ? `${(n / 1024).toFixed(1)} KB` : `${(n / 1024 ** 2).toFixed(1)} MB`;

export function reportFiles(files: WrittenFile[], json: boolean, report: Reporter, extra: Record<string, unknown> = {}): void {
  if (json) {
    report.out(JSON.stringify({ ...extra, files }, null, 2));
    return;
  }
  const width = Math.max(...files.map((f) => f.path.length));
  for (const f of files) report.out(`${f.path.padEnd(width)}  ${humanBytes(f.bytes).padStart(8)}  ${f.shows}`);
}

export interface DownloadCallbacks {
  onDownloadStart: (file: WeightsFile, url: string, destination: string) => void;
  onProgress: (progress: DownloadProgress) => void;
}

/**
 * Runs `work` with download feedback: a live bar (bytes, percent, rate, ETA) on a terminal,
 * a line at each quarter otherwise, so logs stay short. The bar is stopped however `work` ends.
 */
export async function withDownloadProgress<T>(report: Reporter, work: (callbacks: DownloadCallbacks) => Promise<T>): Promise<T> {
  const { SingleBar } = await import('cli-progress');
  let bar: InstanceType<typeof SingleBar> | undefined;
  let started = 0;
  let nextQuarter = 0.25;
  const rate = (received: number) => humanBytes(Math.round(received / Math.max(0.001, (Date.now() - started) / 1000)));
  const callbacks: DownloadCallbacks = {
    onDownloadStart(file, url, destination) {
      report.notice(`downloading ${file.fileName} (${humanBytes(file.bytes)}, once) from ${url} to ${destination}`);
      started = Date.now();
    },
    onProgress({ received, total }) {
      if (report.interactive && total) {
        bar ??= new SingleBar({
          format: '  {bar} {percentage}% | {done} of {size} | {rate}/s | ETA {eta_formatted}',
          stream: process.stderr,
          hideCursor: true,
        });
        if (!bar.isActive) bar.start(total, 0, { size: humanBytes(total), done: '0 B', rate: '0 B' });
        bar.update(received, { done: humanBytes(received), rate: rate(received) });
      } else if (total && received / total >= nextQuarter) {
        report.notice(`  ${Math.round((received / total) * 100)}% (${humanBytes(received)} of ${humanBytes(total)}, ${rate(received)}/s)`);
        while (received / total >= nextQuarter) nextQuarter += 0.25;
      }
    },
  };
  try {
    return await work(callbacks);
  } finally {
    bar?.stop();
  }
}
