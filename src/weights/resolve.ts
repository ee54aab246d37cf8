/**
 * Where `--weights` comes from. `imagenet` is resolved as Keras users expect: a file Keras
 * already downloaded (~/.keras/models), then cnnviz's cache, then a one-time download.
 */
import { existsSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import envPaths from 'env-paths';
import { runtimeError, usageError } from '../errors.js';
import { download, DownloadError, type DownloadProgress } from './download.js';
import { DEFAULT_WEIGHTS_BASE_URL, type BuiltinModel, type WeightsFile } from '../formats/builtin.js';

export type WeightsSource = { kind: 'none' } | { kind: 'file'; path: string };

/** How a download reports itself: the command draws a progress bar from these. */
export interface DownloadCallbacks {
  onDownloadStart?: (file: WeightsFile, url: string, destination: string) => void;
  onProgress?: (progress: DownloadProgress) => void;
}

export interface ResolveOptions extends DownloadCallbacks {
  /** Whether the command needs the classifier's weights (only then the large file). */
  includeTop: boolean;
  env?: NodeJS.ProcessEnv;
}

export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.CNNVIZ_CACHE || envPaths('cnnviz', { suffix: '' }).cache;
}

/** Folders holding weights Keras downloaded itself, in the order Keras looks. */
export function kerasModelDirs(env: NodeJS.ProcessEnv = process.env): string[] {
  const dirs = env.KERAS_HOME ? [join(env.KERAS_HOME, 'models')] : [];
  dirs.push(join(env.HOME || homedir(), '.keras', 'models'));
  return dirs;
}

export function weightsUrl(model: BuiltinModel, file: WeightsFile, env: NodeJS.ProcessEnv = process.env): string {
  const base = env.CNNVIZ_WEIGHTS_BASE_URL || `${DEFAULT_WEIGHTS_BASE_URL}${model.weightsFolder}/`;
  return `${base.replace(/\/?$/, '/')}${file.fileName}`;
}

const isFile = (path: string): boolean => existsSync(path) && statSync(path).isFile() && statSync(path).size > 0;

export async function resolveWeights(spec: string, model: BuiltinModel | undefined, options: ResolveOptions): Promise<WeightsSource> {
  const env = options.env ?? process.env;
  if (spec === 'none') return { kind: 'none' };
  if (spec !== 'imagenet') {
    if (!isFile(spec)) throw usageError(`weights file '${spec}' does not exist (or is empty)`);
    return { kind: 'file', path: spec };
  }
  if (!model) throw usageError(`'--weights imagenet' exists for the built-in models only; give a weights file or --weights none`);
  const file = options.includeTop ? model.weights.top : model.weights.notop;
  const cache = cacheDir(env);
  const places = [...kerasModelDirs(env), cache];
  const found = places.map((dir) => join(dir, file.fileName)).find(isFile);
  if (found) return { kind: 'file', path: found };

  const url = weightsUrl(model, file, env);
  const destination = join(cache, file.fileName);
  options.onDownloadStart?.(file, url, destination);
  try {
    await download(url, destination, { md5: file.md5, onProgress: options.onProgress });
  } catch (err) {
    if (!(err instanceof DownloadError)) throw err;
    const waysOut = '--weights PATH to a copy of the file, put the file in ~/.keras/models/, or --weights none for random weights';
    if (!err.unreachable) throw runtimeError(`${err.message}; nothing was cached. Try again, or use ${waysOut}.`);
    throw runtimeError(`${err.message}, and ${file.fileName} was not found in ${places.join(', ')}. Ways out: ${waysOut}.`);
  }
  return { kind: 'file', path: destination };
}
