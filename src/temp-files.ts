/**
 * What an interrupted run does on its way out: saves what asked to be saved, and removes the
 * temporary files and folders this run has open (a PNG being written, a download, an ONNX
 * cache entry being made), so that an interrupted run (Ctrl-C, SIGTERM) removes them before it
 * exits. Every temporary name is one no user picks: `.cnnviz-tmp-<pid>-<8 hex>-<what>`. Only
 * such names are ever removed as leftovers, and only when their process is gone: a user's
 * `thesis.2024.tmp` or `photos.2019.tmp/` is never touched.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { messageOf } from './errors.js';

const PREFIX = '.cnnviz-tmp-';
const TEMP_NAME = /^\.cnnviz-tmp-(\d+)-[0-9a-f]{8}(?:-|$)/;
/** Enough of the target's name to tell temporaries apart in a listing, short enough for any file system. */
const HINT_LENGTH = 40;

const open = new Set<string>();

/** A temporary path beside `target` (same folder, so a rename is atomic): `.cnnviz-tmp-<pid>-<hex>-<name>`. */
export function tempPathFor(target: string): string {
  const hint = basename(target).slice(0, HINT_LENGTH);
  return join(dirname(target), `${PREFIX}${process.pid}-${randomBytes(4).toString('hex')}-${hint}`);
}

export function trackTemp(path: string): void {
  open.add(path);
}

export function untrackTemp(path: string): void {
  open.delete(path);
}

const interruptActions = new Set<() => void>();

/**
 * Work to save when the run is interrupted (an examples state), run before the temporaries go;
 * synchronous, as a signal handler must be. Returns the function that takes it back.
 */
export function atInterrupt(action: () => void): () => void {
  interruptActions.add(action);
  return () => interruptActions.delete(action);
}

/**
 * Runs what was registered with atInterrupt; a failure there must not keep the process from
 * ending, so it is returned (the last regular save stands) for the caller to say.
 */
export function runInterruptActionsSync(): string[] {
  const failures: string[] = [];
  for (const action of interruptActions) {
    try {
      action();
    } catch (err) {
      failures.push(messageOf(err));
    }
  }
  interruptActions.clear();
  return failures;
}

/** Removes what is still open; synchronous, for signal handlers. */
export function removeTempFilesSync(): void {
  for (const path of open) rmSync(path, { recursive: true, force: true });
  open.clear();
}

/** The process id in one of cnnviz's temporary names; undefined for any other name. */
export function pidOfTemp(name: string): number | undefined {
  const match = TEMP_NAME.exec(name);
  return match ? Number(match[1]) : undefined;
}

/** Whether a process is alive (signal 0 checks without sending). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as { code?: string }).code === 'EPERM';
  }
}

/**
 * cnnviz's own temporaries that killed runs left in `dir` and its subfolders (`depth` levels
 * down). Symbolic links are neither followed nor removed.
 */
export async function removeDeadTemps(dir: string, depth = 1): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  await Promise.all(
    entries.map(async (entry) => {
      const path = join(dir, entry.name);
      if (entry.isSymbolicLink()) return undefined;
      const pid = pidOfTemp(entry.name);
      if (pid !== undefined && pid !== process.pid && !isAlive(pid)) return rm(path, { recursive: true, force: true });
      if (entry.isDirectory() && depth > 0 && pid === undefined) return removeDeadTemps(path, depth - 1);
      return undefined;
    }),
  );
}
