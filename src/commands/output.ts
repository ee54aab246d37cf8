/**
 * What the picture-writing commands share: the list of written files, and progress (weights
 * arriving, images done) shown as a bar on a terminal.
 */
import type { CommandContext, Reporter } from './context.js';
import { onnxCacheDir } from '../config.js';
import type { GradientChoice } from '../pipeline/gradients.js';
import { triesOnnx } from '../engines/backend.js';
import { messageOf, runtimeError, usageError } from '../errors.js';
import type { ExplainRun } from '../pipeline/explained.js';
import type { Prediction } from '../pipeline/classifier.js';
import type { WrittenFile } from '../output/files.js';
import type { DownloadCallbacks } from '../weights/resolve.js';

type Bar = InstanceType<typeof import('cli-progress').SingleBar>;

/** Bars on stderr, the cursor hidden while one shows: one style for every bar cnnviz draws. */
async function barMaker(): Promise<(format: string) => Bar> {
  const { SingleBar } = await import('cli-progress');
  return (format) => new SingleBar({ format, stream: process.stderr, hideCursor: true });
}

/** Images (or other units) done, their rate and the ETA: a bar on a terminal, nothing in logs (the file list follows). */
export async function imageProgress(
  report: Reporter,
  unit = 'images',
): Promise<{ update(done: number, total: number): void; stop(): void }> {
  if (!report.interactive) return { update: () => undefined, stop: () => undefined };
  const bar = (await barMaker())(`  {bar} {value}/{total} ${unit} | {rate} ${unit}/s | ETA {eta_formatted}`);
  // A continued run starts part way: the rate counts this run's images only.
  let first = 0;
  let started = 0;
  return {
    update(done, total) {
      if (!bar.isActive) {
        [first, started] = [done - 1, performance.now()];
        bar.start(total, done, { rate: '-' });
      }
      const seconds = (performance.now() - started) / 1000;
      bar.update(done, { rate: seconds > 0 ? ((done - first) / seconds).toFixed(2) : '-' });
    },
    stop: () => bar.stop(),
  };
}

/**
 * What `cam` and `saliency` print: each image's top 5 (unless --json), the files, and a failure
 * at the end when images of a batch were skipped.
 */
export function reportExplained(
  run: ExplainRun,
  json: boolean,
  report: Reporter,
  extra: Record<string, unknown>,
): void {
  const name = (p: Prediction) => `${p.index}${p.name ? ` ${p.name}` : ''}`;
  if (!json)
    for (const r of run.results)
      report.out(`${r.image}: ${r.top.map((p) => `${name(p)} ${(100 * p.probability).toFixed(1)}%`).join(', ')}`);
  const predictions = run.results.map((r) => ({ image: r.image, top: r.top, explained: r.target ?? null }));
  reportFiles(
    run.results.flatMap((r) => r.written),
    json,
    report,
    { ...extra, predictions, failed: run.failures },
  );
  if (run.failures.length > 0) {
    const images = run.failures.length + run.results.length;
    throw runtimeError(
      `${run.failures.length} of ${images} images failed (${run.failures.map((f) => f.split(': ')[0]).join(', ')}); the others were drawn`,
    );
  }
}

/** The images a command draws (folders expanded), the output folder ready; none is a usage error. */
export async function imagesToDraw(args: string[], output: string, ctx: CommandContext): Promise<string[]> {
  // The header check below waits for the image worker to finish loading sharp (started with
  // the process): ONNX Runtime, which the engine loads next, loads first in this otherwise idle time.
  if (triesOnnx(ctx.global.backend))
    void (await import('../engines/ort.js'))
      .loadOrt()
      .catch((err: unknown) => ctx.report.verbose(`onnxruntime-node does not load: ${messageOf(err)}`));
  const { listImages } = await import('../image/files.js');
  const { checkImage } = await import('../image/decode.js');
  const { prepareOutputDir } = await import('../output/files.js');
  const paths = await listImages(args);
  if (paths.length === 0) throw usageError(`no image files in ${args.join(', ')}`);
  // One image is checked before any work; a bad one in a batch is skipped when reached.
  if (paths.length === 1) await checkImage(paths[0]);
  await prepareOutputDir(output);
  return paths;
}

/** What a pipeline that runs gradients is told: notices, images done, and runs done of an image's many. */
export interface GradientProgress {
  notice(line: string): void;
  imageDone?(done: number, total: number): void;
  progress?(done: number, total: number): void;
}

/**
 * Runs `draw` (cam's, saliency's or maximize's pipeline) with what they all give it: the weights
 * and the ONNX cache, notices, a bar over images when there are several, and one over the runs
 * the work takes where it takes many (`runs` names them).
 */
export async function withGradients<T>(
  ctx: CommandContext,
  weights: string,
  images: number,
  runs: string | undefined,
  draw: (choice: GradientChoice, events: GradientProgress) => Promise<T>,
): Promise<T> {
  const imageBar = images > 1 ? await imageProgress(ctx.report) : undefined;
  const runBar = runs ? await imageProgress(ctx.report, runs) : undefined;
  return withDownloadProgress(ctx.report, async (download) =>
    draw(
      { weights, download, onnxCacheDir: await onnxCacheDir(), explain: ctx.report.verbose },
      {
        notice: ctx.report.notice,
        imageDone: imageBar?.update,
        progress: runBar && ((done, total) => (done < total ? runBar.update(done, total) : runBar.stop())),
      },
    ).finally(() => {
      imageBar?.stop();
      runBar?.stop();
    }),
  );
}

export const humanBytes = (n: number): string =>
  n < 1024 ? `${n} B` : n < 1024 ** 2 ? `${(n / 1024).toFixed(1)} KB` : `${(n / 1024 ** 2).toFixed(1)} MB`;

export function reportFiles(
  files: WrittenFile[],
  json: boolean,
  report: Reporter,
  extra: Record<string, unknown> = {},
): void {
  if (json) {
    report.out(JSON.stringify({ ...extra, files }, null, 2));
    return;
  }
  const width = Math.max(...files.map((f) => f.path.length));
  for (const f of files) report.out(`${f.path.padEnd(width)}  ${humanBytes(f.bytes).padStart(8)}  ${f.shows}`);
}

/**
 * Runs `work` with download feedback: a live bar (bytes, percent, rate, ETA) on a terminal,
 * a line at each quarter otherwise, so logs stay short. The bar is stopped however `work` ends.
 */
export async function withDownloadProgress<T>(
  report: Reporter,
  work: (callbacks: DownloadCallbacks) => Promise<T>,
): Promise<T> {
  // The bar's module loads when a download starts: runs with the weights at hand never load it.
  let newBar: ((format: string) => Bar) | undefined;
  let bar: Bar | undefined;
  let started = 0;
  let nextQuarter = 0.25;
  const rate = (received: number) => humanBytes(Math.round(received / Math.max(0.001, (Date.now() - started) / 1000)));
  const callbacks: DownloadCallbacks = {
    notice: report.notice,
    onDownloadStart(file, url, destination) {
      report.notice(`downloading ${file.fileName} (${humanBytes(file.bytes)}, once) from ${url} to ${destination}`);
      started = Date.now();
      if (report.interactive) void barMaker().then((make) => (newBar = make));
    },
    onProgress({ received, total }) {
      if (report.interactive && total) {
        if (!newBar) return; // a moment after the start, until the bar has loaded
        bar ??= newBar('  {bar} {percentage}% | {done} of {size} | {rate}/s | ETA {eta_formatted}');
        if (!bar.isActive) bar.start(total, 0, { size: humanBytes(total), done: '0 B', rate: '0 B' });
        bar.update(received, { done: humanBytes(received), rate: rate(received) });
      } else if (total && received / total >= nextQuarter) {
        report.notice(
          `  ${Math.round((received / total) * 100)}% (${humanBytes(received)} of ${humanBytes(total)}, ${rate(received)}/s)`,
        );
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
