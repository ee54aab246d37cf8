/**
 * Where `--weights` comes from. `imagenet` is resolved as Keras users expect: a file Keras
 * already downloaded (~/.keras/models), then cnnviz's cache, then a one-time download.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { join } from 'node:path';
import { cacheDir, kerasModelDirs, weightsBaseUrl } from '../config.js';
import { runtimeError, usageError } from '../errors.js';
import { download, DownloadError, type DownloadProgress } from './download.js';
import { removeDeadTemps } from '../temp-files.js';
import { writeFileAtomic } from '../output/files.js';

export type WeightsSource = { kind: 'none' } | { kind: 'file'; path: string };

export interface WeightsFile {
  fileName: string;
  md5: string;
  /** Approximate size, for messages before a download. */
  bytes: number;
}

/** Where keras.applications keeps a model's ImageNet weights: the files with and without the classifier. */
export interface KerasApplicationWeights {
  /** The folder of `keras.applications` under the weights base URL. */
  weightsFolder: string;
  weights: { top: WeightsFile; notop: WeightsFile };
}

export const DEFAULT_WEIGHTS_BASE_URL = 'https://storage.googleapis.com/tensorflow/keras-applications/';

/** How a download reports itself: the command draws a progress bar from these. */
export interface DownloadCallbacks {
  /** A line the user should see (a damaged copy passed over). */
  notice?: (line: string) => void;
  onDownloadStart?: (file: WeightsFile, url: string, destination: string) => void;
  onProgress?: (progress: DownloadProgress) => void;
}

export interface ResolveOptions extends DownloadCallbacks {
  /** Whether the command needs the classifier's weights (only then the large file). */
  includeTop: boolean;
  env?: NodeJS.ProcessEnv;
}

export function weightsUrl(
  model: KerasApplicationWeights,
  file: WeightsFile,
  env: NodeJS.ProcessEnv = process.env,
): string {
  const base = weightsBaseUrl(env) ?? `${DEFAULT_WEIGHTS_BASE_URL}${model.weightsFolder}/`;
  return `${base.replace(/\/?$/, '/')}${file.fileName}`;
}

/** Where checked files are remembered: path to size, time and md5. */
const VERIFIED = 'verified.json';

type Verified = Record<string, { size: number; mtimeMs: number; md5: string }>;

const readVerified = (cache: string): Promise<Verified> =>
  readFile(join(cache, VERIFIED), 'utf8').then(
    (text) => JSON.parse(text) as Verified,
    () => ({}),
  );

/** Remembers a file's md5 by its size and time. An optimisation: a read-only cache only means checking again next time. */
async function remember(path: string, md5: string, cache: string): Promise<void> {
  const { size, mtimeMs } = await stat(path);
  const known = await readVerified(cache);
  known[path] = { size, mtimeMs, md5 };
  await mkdir(cache, { recursive: true })
    .then(() => writeFileAtomic(join(cache, VERIFIED), new TextEncoder().encode(JSON.stringify(known))))
    .catch(() => undefined);
}

async function matchesMd5(path: string, md5: string, cache: string): Promise<boolean> {
  const { size, mtimeMs } = await stat(path);
  const seen = (await readVerified(cache))[path];
  if (seen && seen.size === size && seen.mtimeMs === mtimeMs) return seen.md5 === md5;
  const hash = createHash('md5');
  await pipeline(createReadStream(path), hash);
  const digest = hash.digest('hex');
  await remember(path, digest, cache);
  return digest === md5;
}

const isFile = (path: string): boolean => existsSync(path) && statSync(path).isFile() && statSync(path).size > 0;

export async function resolveWeights(
  spec: string,
  model: KerasApplicationWeights | undefined,
  options: ResolveOptions,
): Promise<WeightsSource> {
  const env = options.env ?? process.env;
  if (spec === 'none') return { kind: 'none' };
  if (spec !== 'imagenet') {
    if (!isFile(spec)) throw usageError(`weights file '${spec}' does not exist (or is empty)`);
    return { kind: 'file', path: spec };
  }
  if (!model)
    throw usageError(`'--weights imagenet' exists for the built-in models only; give a weights file or --weights none`);
  const file = options.includeTop ? model.weights.top : model.weights.notop;
  const cache = await cacheDir(env);
  const places = [...kerasModelDirs(env), cache];
  // Found copies are checked against the md5, as Keras checks its cache: once per file,
  // remembered by size and time, so warm runs only stat it.
  await removeDeadTemps(cache, 0);
  for (const path of places.map((dir) => join(dir, file.fileName)).filter(isFile)) {
    if (await matchesMd5(path, file.md5, cache)) return { kind: 'file', path };
    const inCache = path.startsWith(cache);
    options.notice?.(
      `${path} does not match its md5 (damaged or cut short); ${inCache ? 'removed it, ' : ''}looking further`,
    );
    if (inCache) await rm(path, { force: true });
  }

  const url = weightsUrl(model, file, env);
  const destination = join(cache, file.fileName);
  options.onDownloadStart?.(file, url, destination);
  try {
    await download(url, destination, { md5: file.md5, onProgress: options.onProgress });
    // Its md5 was checked on the way in: the next run trusts it by its size and time, unread.
    await remember(destination, file.md5, cache);
  } catch (err) {
    if (!(err instanceof DownloadError)) throw err;
    const waysOut =
      '--weights PATH to a copy of the file, put the file in ~/.keras/models/, or --weights none for random weights';
    if (!err.unreachable) throw runtimeError(`${err.message}; nothing was cached. Try again, or use ${waysOut}.`);
    throw runtimeError(
      `${err.message}, and ${file.fileName} was not found in ${places.join(', ')}. Ways out: ${waysOut}.`,
    );
  }
  return { kind: 'file', path: destination };
}
