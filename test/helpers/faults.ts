/**
 * Faults injected for real, as root: a tiny tmpfs that fills up, an immutable folder
 * (chattr +i). Each is undone by the test that makes it. Where they cannot be made (not root),
 * the tests skip saying why, except under CI=true, where a skip would hide a missing check.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const isRoot = process.getuid?.() === 0;

/** `test` as root, else a skip that says why (a failure under CI=true). */
export function asRoot(): jest.It {
  if (isRoot) return test;
  if (process.env.CI === 'true')
    throw new Error('fault-injection tests need root, and CI runs as root: something is wrong with this machine');
  console.log('skipping fault-injection tests: they mount a tmpfs and chattr folders, which needs root');
  return test.skip;
}

/** A tmpfs of `size` (e.g. '48k') mounted on a fresh folder, read-only if asked; `remove` unmounts it. */
export function tinyDisk(size: string, readOnly = false): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), 'cnnviz-tinydisk-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}${readOnly ? ',ro' : ''}`, 'tmpfs', path]);
  return {
    path,
    remove() {
      execFileSync('umount', [path]);
      rmSync(path, { recursive: true, force: true });
    },
  };
}

/** chattr +i: not even root can create files in it; call the returned function to undo. */
export function immutable(path: string): () => void {
  execFileSync('chattr', ['+i', path]);
  return () => execFileSync('chattr', ['-i', path]);
}

/** Every file below `dir`, relative, for "nothing half-written, nothing temporary left" checks. */
export function filesBelow(dir: string): string[] {
  return execFileSync('find', [dir, '-mindepth', '1'], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean)
    .map((p) => p.slice(dir.length + 1))
    .sort();
}
