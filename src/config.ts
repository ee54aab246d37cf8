/**
 * Every environment variable cnnviz reads, in one place, each with its meaning, default and
 * check; other modules take the values, never the environment. Each reader takes the
 * environment as an argument (the process's by default), so tests can give their own.
 *
 * - CNNVIZ_BACKEND: the engine when --backend is not given (commander reads it; empty is unset)
 * - CNNVIZ_CACHE: cnnviz's cache folder (weights, prepared ONNX models, descriptions)
 * - CNNVIZ_MAX_MEMORY: the largest activation one image may take (4 GB)
 * - CNNVIZ_THREADS: threads for forward passes (every core), shared out among featuremaps' lanes
 * - CNNVIZ_TIMINGS: a file to write the run's stage timings to, as JSON
 * - CNNVIZ_WEIGHTS_BASE_URL: a mirror folder of Keras' weights files
 * - KERAS_HOME, HOME: where Keras keeps the weights it downloaded
 */
import { cpus, homedir } from 'node:os';
import { join } from 'node:path';
import { usageError } from './errors.js';

type Env = NodeJS.ProcessEnv;

/** The variable --backend falls back to. */
export const BACKEND_VARIABLE = 'CNNVIZ_BACKEND';

/** An empty variable means unset, as in most shells' habits, not an invalid backend name. */
export function unsetEmptyBackend(env: Env = process.env): void {
  if (env[BACKEND_VARIABLE] === '') delete env[BACKEND_VARIABLE];
}

/**
 * cnnviz's cache folder: CNNVIZ_CACHE, else the platform's (~/.cache/cnnviz on Linux). Async
 * because env-paths loads only here: at start-up it would cost 16 ms of every `--help`.
 */
export async function cacheDir(env: Env = process.env): Promise<string> {
  if (env.CNNVIZ_CACHE) return env.CNNVIZ_CACHE;
  const { default: envPaths } = await import('env-paths');
  return envPaths('cnnviz', { suffix: '' }).cache;
}

/** Where prepared ONNX models are kept. */
export const onnxCacheDir = async (env: Env = process.env): Promise<string> => join(await cacheDir(env), 'onnx');

/** Folders holding weights Keras downloaded itself, in the order Keras looks. */
export function kerasModelDirs(env: Env = process.env): string[] {
  const dirs = env.KERAS_HOME ? [join(env.KERAS_HOME, 'models')] : [];
  dirs.push(join(env.HOME || homedir(), '.keras', 'models'));
  return dirs;
}

/** A mirror of Keras' weights folder, if set. */
export const weightsBaseUrl = (env: Env = process.env): string | undefined => env.CNNVIZ_WEIGHTS_BASE_URL || undefined;

/** Bytes one activation may take: CNNVIZ_MAX_MEMORY (8GB, 512MB, 1000), else 4 GB. */
export function memoryBudget(env: Env = process.env): number {
  const value = env.CNNVIZ_MAX_MEMORY;
  if (!value?.trim()) return 4 * 2 ** 30;
  const match = /^\s*(\d+(?:\.\d+)?)\s*(GB?|MB?|)\s*$/i.exec(value);
  if (!match) throw usageError(`CNNVIZ_MAX_MEMORY='${value}' is not a size such as 8GB or 512MB`);
  const unit = match[2].toUpperCase().startsWith('G') ? 2 ** 30 : match[2].toUpperCase().startsWith('M') ? 2 ** 20 : 1;
  return Number(match[1]) * unit;
}

/**
 * Threads for forward passes: every core, unless CNNVIZ_THREADS says (shards run side by side
 * on one machine each take a share). One pass takes them all; featuremaps' lanes share them.
 */
export function forwardThreads(env: Env = process.env): number {
  const value = env.CNNVIZ_THREADS;
  if (value === undefined || value === '') return cpus().length;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1)
    throw usageError(`CNNVIZ_THREADS=${value}: expected a whole number of 1 or more`);
  return n;
}

/** Where to write the run's timings, if asked. */
export const timingsFile = (env: Env = process.env): string | undefined => env.CNNVIZ_TIMINGS || undefined;
