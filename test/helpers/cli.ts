/** Runs the built CLI (bin/cnnviz.js) as a user would, capturing its output and exit code. */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { ROOT } from './paths.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** One cache folder per test file, so runs never touch the user's cache (and do hit their own). */
const TEST_CACHE = mkdtempSync(join(tmpdir(), 'cnnviz-test-cache-'));

export function cnnviz(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return startCnnviz(args, env).result;
}

/** The CLI as a child process the test can signal, and its result once it ends. */
export function startCnnviz(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): { child: ChildProcess; result: Promise<CliResult> } {
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'cnnviz.js'), ...args], {
    cwd: ROOT,
    env: { ...process.env, CNNVIZ_BACKEND: '', CNNVIZ_CACHE: TEST_CACHE, ...env },
  });
  const result = new Promise<CliResult>((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : -1), stdout, stderr }));
  });
  return { child, result };
}

export function readPng(path: string): PNG {
  return PNG.sync.read(readFileSync(path));
}
