/**
 * What `cam` and `saliency` do per image, shared: where each image's files go, a record of its
 * prediction beside them (`<base>.json`, written last, so its presence means the image is done),
 * and batches that continue where a stopped run left off. A bad image in a batch is skipped and
 * named; one image given alone fails the run.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { messageOf } from '../errors.js';
import { outputPath, writeFileAtomic, type WrittenFile } from '../output/files.js';
import { imageStems } from '../output/names.js';
import type { Prediction } from './classifier.js';

/** One image's explanation: its prediction, the class explained, the files that show it. */
export interface Explained {
  image: string;
  top: Prediction[];
  /** Absent where no class changes the picture (Eigen-CAM). */
  target?: Prediction;
  written: WrittenFile[];
  /** Integrated Gradients: the attributions' sum and f(x) - f(baseline), which it should equal. */
  completeness?: { attributions: number; difference: number };
}

export interface ExplainJob {
  path: string;
  /** The output path without extension: out/<stem>-<what>. */
  base: string;
}

export function explainJobs(paths: string[], output: string, what: string): ExplainJob[] {
  const stems = imageStems(paths);
  return paths.map((path, i) => ({ path, base: outputPath(output, `${stems[i]}-${what}`) }));
}

const prediction = z.object({
  index: z.number().int().nonnegative(),
  probability: z.number(),
  name: z.string().optional(),
});
const recordSchema = z.object({
  stamp: z.string(),
  image: z.string(),
  top: z.array(prediction),
  target: prediction.optional(),
  written: z.array(z.object({ path: z.string(), bytes: z.number(), shows: z.string() })),
  completeness: z.object({ attributions: z.number(), difference: z.number() }).optional(),
});

/** The explanation recorded for a job under `stamp`, when every file it names is still there. */
async function recorded(job: ExplainJob, stamp: string): Promise<Explained | undefined> {
  const text = await readFile(`${job.base}.json`, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  const record = recordSchema.safeParse(parsed);
  if (!record.success || record.data.stamp !== stamp || record.data.image !== job.path) return undefined;
  // Only files of this job count: a record edited to name others is not trusted.
  if (!record.data.written.every((f) => f.path.startsWith(job.base) && existsSync(f.path))) return undefined;
  const { stamp: _, ...explained } = record.data;
  return explained;
}

export interface ExplainRun {
  results: Explained[];
  /** `image: reason` for each image skipped. */
  failures: string[];
  /** Images already explained by an earlier run with the same settings. */
  reused: number;
}

export interface ExplainEvents {
  notice(line: string): void;
  /** Images done of all. */
  imageDone?(done: number, total: number): void;
}

/**
 * Explains each job with `explain`, recording each result under `stamp` (everything that shapes
 * the pictures). In a batch (more than one image) a job recorded under the same stamp is
 * reused unless `force`, and a job that fails is skipped and named.
 */
export async function explainEach(
  jobs: ExplainJob[],
  stamp: string,
  force: boolean,
  explain: (job: ExplainJob) => Promise<Explained>,
  events: ExplainEvents,
): Promise<ExplainRun> {
  const many = jobs.length > 1;
  const results: Explained[] = [];
  const failures: string[] = [];
  let reused = 0;
  for (const [i, job] of jobs.entries()) {
    const before = many && !force ? await recorded(job, stamp) : undefined;
    if (before) {
      results.push(before);
      reused++;
    } else {
      try {
        const result = await explain(job);
        const record = { stamp, ...result, written: result.written };
        const json = new TextEncoder().encode(`${JSON.stringify(record, null, 1)}\n`);
        await writeFileAtomic(`${job.base}.json`, json);
        results.push({
          ...result,
          written: [
            ...result.written,
            { path: `${job.base}.json`, bytes: json.length, shows: 'the prediction and what was written' },
          ],
        });
      } catch (err) {
        if (!many) throw err;
        failures.push(`${job.path}: ${messageOf(err)}`);
        events.notice(`skipping ${job.path}: ${messageOf(err)}`);
      }
    }
    events.imageDone?.(i + 1, jobs.length);
  }
  if (reused > 0)
    events.notice(
      `${reused} of ${jobs.length} images already explained with these settings; reused (--force redoes them)`,
    );
  return { results, failures, reused };
}
