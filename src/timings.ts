/**
 * Stage timings for the benchmark: commands wrap their stages in `timed`, and when
 * CNNVIZ_TIMINGS names a file the CLI writes the totals there at exit. Costs nothing otherwise.
 */
import { writeFileSync } from 'node:fs';
import { timingsFile } from './config.js';

const stages: Record<string, number> = {};

export async function timed<T>(stage: string, work: () => Promise<T> | T): Promise<T> {
  const start = performance.now();
  try {
    return await work();
  } finally {
    stages[stage] = (stages[stage] ?? 0) + performance.now() - start;
  }
}

export function timedSync<T>(stage: string, work: () => T): T {
  const start = performance.now();
  try {
    return work();
  } finally {
    stages[stage] = (stages[stage] ?? 0) + performance.now() - start;
  }
}

/** Marks the moment a command starts its work: what start-up (node, imports, parsing) cost. */
export function markStartup(): void {
  stages.startup ??= performance.now();
}

export interface TimingsReport {
  /** Milliseconds per stage, summed over the run. */
  stages: Record<string, number>;
  /** Milliseconds from process start to the report. */
  totalMs: number;
  peakRssMB: number;
}

export function timingsReport(): TimingsReport {
  return { stages: { ...stages }, totalMs: performance.now(), peakRssMB: process.resourceUsage().maxRSS / 1024 };
}

export function writeTimingsIfAsked(file = timingsFile()): void {
  if (file) writeFileSync(file, JSON.stringify(timingsReport()));
}
