/**
 * The temporary files and folders this run has open (a PNG being written, a download, an ONNX
 * cache entry being made), so that an interrupted run (Ctrl-C, SIGTERM) removes them before it
 * exits. Every temporary name carries the process id, so a later run can tell the leftovers of
 * a dead process from a live one's work.
 */
import { rmSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';

const open = new Set<string>();

export function trackTemp(path: string): void {
  open.add(path);
}

export function untrackTemp(path: string): void {
  open.delete(path);
}

/** Removes what is still open; synchronous, for signal handlers. */
export function removeTempFilesSync(): void {
  for (const path of open) rmSync(path, { recursive: true, force: true });
  open.clear();
}

/** The process id a temporary name carries (`name.<pid>.<hex>.tmp`, `key.<pid>.tmp`), if any. */
export function pidOfTemp(name: string): number | undefined {
  const match = /\.(\d+)(?:\.[0-9a-f]+)?\.(?:tmp|part)$/.exec(name);
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

/** Temporary files and folders that killed runs left in `dir` and its subfolders (`depth` levels down). */
export async function removeDeadTemps(dir: string, depth = 1): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  await Promise.all(
    entries.map(async (entry) => {
      const path = join(dir, entry.name);
      const pid = pidOfTemp(entry.name);
      if (pid !== undefined && pid !== process.pid && !isAlive(pid)) return rm(path, { recursive: true, force: true });
      if (entry.isDirectory() && depth > 0) return removeDeadTemps(path, depth - 1);
      return undefined;
    }),
  );
}
