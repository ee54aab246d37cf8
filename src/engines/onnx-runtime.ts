/**
 * ONNX Runtime sessions, shared by every format that runs on it: a Keras model translated to
 * ONNX, or an ONNX file run as it is. Sessions use every core; the runtime's own warnings
 * (that a saved optimised model is processor-specific, say) are not the user's.
 */
import { forwardThreads } from '../config.js';
import { readFile, rm, statfs, writeFile } from 'node:fs/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileSystemReason, messageOf } from '../errors.js';
import type { Forward } from './forward.js';
import * as onnxCache from './onnx-cache.js';

export type Ort = typeof import('onnxruntime-node');
export type OrtSession = Awaited<ReturnType<Ort['InferenceSession']['create']>>;
export type OrtSessionOptions = NonNullable<Parameters<Ort['InferenceSession']['create']>[1]>;

export async function loadOrt(): Promise<Ort> {
  // Its telemetry leaves an empty mat-debug-<pid>.log and a .ses file in the temp folder on
  // every run; cnnviz sends nothing anywhere, so it is off unless the user set it themselves.
  process.env.ORT_DISABLE_TELEMETRY ??= '1';
  // require, not import(): the ESM loader would first parse its CommonJS files for their exports.
  const ort = createRequire(import.meta.url)('onnxruntime-node') as Ort;
  ort.env.logLevel = 'error';
  return ort;
}

/**
 * ONNX Runtime's reason in a line: without its source locations, function signatures and
 * error-code prefixes, and without the node dump before 'Error'.
 */
export function ortReason(message: string): string {
  const last = message.split(/\[ONNXRuntimeError\] : \d+ : \w+ : /).pop()!;
  const reason = last.replace(/^\S+\.(cc|h):\d+ \S+ /, '').trim();
  return /, Error (.*)$/.exec(reason)?.[1] ?? reason;
}

export const baseSessionOptions = (): OrtSessionOptions => ({
  intraOpNumThreads: forwardThreads(),
  interOpNumThreads: 1,
  logSeverityLevel: 3,
});

export interface PreparedSessionOptions {
  /** Where optimised models are kept between runs; none: not kept. */
  cacheDir?: string;
  /** Everything the prepared model depends on (weights' identity, outputs, sizes); none: not cached. */
  key?: Record<string, unknown>;
  /** The model to optimise, made only when the cache has no good entry. */
  build(): Promise<Uint8Array> | Uint8Array;
  explain?: (line: string) => void;
  /** What the user should know: a damaged entry rebuilt, a cache that cannot be written. */
  notice?: (line: string) => void;
  /**
   * Small text files kept with the prepared model: what a caller needs to use it without
   * building it (a graph's input and output names). `make` runs after `build`; `found` gets
   * them back from the cache (an entry without them is rebuilt).
   */
  /**
   * Whether kernels prepack their weights (default). Not for gradient models, whose weights the
   * forward and the backward kernels share: each would keep its own packed copy (VGG16's 400 MB
   * fc1 three times over), and ONNX Runtime 1.30 crashes (SIGSEGV) running such a model saved
   * prepacked (tiny-vgg's Grad-CAM model: one Gemm weight read by two Gemms).
   */
  prepack?: boolean;
  /** The input's height times width, where known: a large input runs without the CPU arena. */
  inputPixels?: number;
  extras?: {
    names: string[];
    make(): Record<string, string>;
    found(files: Record<string, string>): void;
  };
}

/**
 * A session over a model ONNX Runtime has optimised once: the first run builds the model and
 * lets the runtime optimise it (its NCHWc convolution layout is most of the set-up time),
 * saving the result with its weights in a separate file; later runs open that, the weights
 * memory-mapped and nothing optimised again. A damaged entry is rebuilt once, saying so; a
 * cache that cannot be written leaves the run on the model built in memory, saying so.
 */
/**
 * From this many input pixels on, sessions run without ONNX Runtime's CPU arena, which keeps
 * every freed block for reuse: at a megapixel that is gigabytes (U²-Net at 1024x1024, one
 * pass: 3.0 GB peak with it, 2.3 GB without, the pass 7% slower); below, the speed is worth it.
 */
export const ARENA_MAX_PIXELS = 512 * 512;

export async function preparedSession(ort: Ort, options: PreparedSessionOptions): Promise<OrtSession> {
  const unpacked = options.prepack === false ? { extra: { session: { disable_prepacking: '1' } } } : {};
  const large = (options.inputPixels ?? 0) >= ARENA_MAX_PIXELS ? { enableCpuMemArena: false } : {};
  const base = { ...baseSessionOptions(), ...unpacked, ...large };
  const cache = options.cacheDir && options.key ? onnxCache : undefined;
  const key = cache?.onnxCacheKey({ ...options.key, ort: ort.env.versions.common });
  const dir = options.cacheDir!;
  if (key) {
    const found = await cache!.findCachedOnnx(dir, key);
    if (found && 'damaged' in found)
      options.notice?.(`the prepared model in the cache was damaged (${found.damaged}); rebuilding it`);
    if (found && 'model' in found) {
      options.explain?.(`ONNX model from the cache: ${found.model}`);
      try {
        const extras = await readExtras(dirname(found.model), options.extras?.names ?? []);
        const session = await ort.InferenceSession.create(found.model, { ...base, graphOptimizationLevel: 'disabled' });
        options.extras?.found(extras);
        return session;
      } catch (err) {
        await cache!.removeEntry(dir, key);
        options.notice?.(`the prepared model in the cache could not be loaded (${messageOf(err)}); rebuilding it`);
      }
    }
  }
  let model: Uint8Array | undefined = await options.build();
  // Built again where it was let go for the runtime to read it from disk (only after a failure).
  const fromMemory = async () =>
    ort.InferenceSession.create((model ??= await options.build()), { ...base, graphOptimizationLevel: 'all' });
  if (!key) return fromMemory();
  let entry: Awaited<ReturnType<NonNullable<typeof cache>['reserveCacheEntry']>>;
  try {
    entry = await cache!.reserveCacheEntry(dir, key);
  } catch (err) {
    options.notice?.(
      `cannot write the ONNX cache in '${dir}' (${fileSystemReason(err)}); running without it, so set-up is not saved for next time`,
    );
    return fromMemory();
  }
  const size = model.byteLength;
  const source = join(entry.folder, SOURCE_FILE);
  const input = await writeFile(source, model).then(
    () => source,
    () => model!,
  );
  if (input === source) model = undefined;
  try {
    await optimiseAndSave(ort, entry.folder, input, base, options.prepack !== false);
  } catch (err) {
    await entry.abandon();
    // The model itself is at fault unless it loads without saving: then the cache was (a full disk).
    const session = await fromMemory();
    const free = await statfs(dir).then(
      (s) => s.bavail * s.bsize,
      () => Infinity,
    );
    const reason = free < size ? fileSystemReason({ code: 'ENOSPC' }) : ortReason(messageOf(err));
    options.notice?.(`cannot write the ONNX cache in '${dir}' (${reason}); running without it`);
    return session;
  }
  try {
    for (const [name, text] of Object.entries(options.extras?.make() ?? {}))
      await writeFile(join(entry.folder, name), text);
  } catch (err) {
    await entry.abandon();
    options.notice?.(`cannot write the ONNX cache in '${dir}' (${fileSystemReason(err)}); running without it`);
    return fromMemory();
  }
  await entry
    .commit()
    .catch((err) =>
      options.notice?.(`cannot write the ONNX cache in '${dir}' (${fileSystemReason(err)}); running without it`),
    );
  // Run on the saved model, as later runs do (its weights memory-mapped, nothing optimised);
  // the optimising session would hold the runtime's working copies of every weight.
  const found = await cache!.findCachedOnnx(dir, key);
  if (found && 'model' in found) {
    try {
      return await ort.InferenceSession.create(found.model, { ...base, graphOptimizationLevel: 'disabled' });
    } catch (err) {
      await cache!.removeEntry(dir, key);
      options.notice?.(`the prepared model in the cache could not be loaded (${messageOf(err)}); running without it`);
    }
  }
  return fromMemory();
}

/**
 * Lets ONNX Runtime optimise the model (given as a file, else in memory) and save the result
 * in `folder`, then closes that session. Before it starts, the garbage of the translation is
 * collected: the runtime's allocations are invisible to V8, which would otherwise keep a
 * translation's weights and model (about 120 MB for VGG16) through the runtime's own peak.
 */
async function optimiseAndSave(
  ort: Ort,
  folder: string,
  input: string | Uint8Array,
  base: OrtSessionOptions,
  prepack: boolean,
): Promise<void> {
  collectGarbage();
  // The weights are saved prepacked (in the layout ONNX Runtime's kernels use), so later runs
  // neither repack them nor page them in twice on the first forward pass.
  const options: OrtSessionOptions = {
    ...base,
    graphOptimizationLevel: 'all',
    optimizedModelFilePath: join(folder, onnxCache.MODEL_FILE),
    extra: {
      session: {
        optimized_model_external_initializers_file_name: onnxCache.WEIGHTS_FILE,
        optimized_model_external_initializers_min_size_in_bytes: '1024',
        ...(prepack ? { save_external_prepacked_constant_initializers: '1' } : { disable_prepacking: '1' }),
      },
    },
  };
  const session = await (typeof input === 'string'
    ? ort.InferenceSession.create(input, options)
    : ort.InferenceSession.create(input, options));
  await session.release();
  await rm(join(folder, SOURCE_FILE), { force: true });
}

/** The model ONNX Runtime reads while it optimises; removed before the entry is committed. */
const SOURCE_FILE = 'source.onnx';

/** A full garbage collection now (V8 exposes it only behind a flag, set for this call). */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

/** The extras kept with a cached model; a missing one fails the entry (it is then rebuilt). */
async function readExtras(folder: string, names: string[]): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const name of names) files[name] = await readFile(join(folder, name), 'utf8');
  return files;
}

/**
 * A Forward over a session whose input and image outputs are channels-last already (formats
 * put any transposes inside the graph, where ONNX Runtime runs them on every core).
 */
export function sessionForward(ort: Ort, session: OrtSession, input: string, outputs: string[]): Forward {
  return {
    engine: 'onnx',
    async run(batch, shape) {
      const result = await session.run({ [input]: new ort.Tensor('float32', batch, shape) }, outputs);
      return outputs.map((name) => result[name].data as Float32Array);
    },
    dispose: async () => {
      await session.release();
    },
  };
}
