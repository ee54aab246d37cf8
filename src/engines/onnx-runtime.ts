/**
 * ONNX Runtime sessions, shared by every format that runs on it: a Keras model translated to
 * ONNX, or an ONNX file run as it is. Sessions use every core; the runtime's own warnings
 * (that a saved optimised model is processor-specific, say) are not the user's.
 */
import { forwardThreads } from '../config.js';
import { readFile, rm, statfs, writeFile } from 'node:fs/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { dirname, join } from 'node:path';
import { fileSystemReason, messageOf } from '../errors.js';
import { letGo } from '../memory.js';
import type { Forward } from './forward.js';
import * as onnxCache from './onnx-cache.js';
import type { Ort, OrtSession, OrtSessionOptions } from './ort.js';
import { laneCount, laneForward, lanesAvailable } from './onnx-lanes.js';

export { loadOrt, type Ort, type OrtSession, type OrtSessionOptions } from './ort.js';

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
  return (await prepareModel(ort, options)).session();
}

/**
 * A Forward over a prepared model: in this thread, or with `lanes` above 1 (and the model
 * kept in the cache) in that many worker sessions sharing the threads. Lanes that cannot open
 * the saved model leave it to this thread, which rebuilds a damaged entry.
 */
export async function preparedForward(
  ort: Ort,
  options: PreparedSessionOptions & { lanes?: number },
  io: { input: string; outputs: string[] },
): Promise<Forward> {
  const prepared = await prepareModel(ort, options);
  const lanes = laneCount(options.lanes ?? 1);
  if (prepared.file && lanes > 1 && lanesAvailable()) {
    const threads = Math.max(1, Math.floor(forwardThreads() / lanes));
    const laneOptions = {
      ...prepared.options,
      intraOpNumThreads: threads,
      graphOptimizationLevel: 'disabled' as const,
    };
    try {
      const forward = await laneForward(prepared.file, laneOptions, io, lanes);
      options.explain?.(`forward passes in ${lanes} lanes (worker threads) of ${threads} thread(s) each`);
      return forward;
    } catch (err) {
      options.explain?.(`forward lanes did not start (${ortReason(messageOf(err))}); one session in this thread`);
    }
  }
  return sessionForward(ort, await prepared.session(), io.input, io.outputs);
}

/** A session over a saved, prepared model: nothing optimised again, its weights memory-mapped. */
const openSaved = (ort: Ort, file: string, options: OrtSessionOptions): Promise<OrtSession> =>
  ort.InferenceSession.create(file, { ...options, graphOptimizationLevel: 'disabled' });

interface PreparedModel {
  /** The saved, optimised model in the cache, when there is one: what lanes open. */
  file?: string;
  /** The options its sessions take (threads, arena, prepacking). */
  options: OrtSessionOptions;
  /** A session in this thread: on the saved model where there is one, else on the model built in memory. */
  session(): Promise<OrtSession>;
}

async function prepareModel(ort: Ort, options: PreparedSessionOptions): Promise<PreparedModel> {
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
      return {
        file: found.model,
        options: base,
        async session() {
          try {
            const extras = await readExtras(dirname(found.model), options.extras?.names ?? []);
            const session = await openSaved(ort, found.model, base);
            options.extras?.found(extras);
            return session;
          } catch (err) {
            await cache!.removeEntry(dir, key);
            options.notice?.(`the prepared model in the cache could not be loaded (${messageOf(err)}); rebuilding it`);
            return (await buildModel(ort, options, base, key)).session();
          }
        },
      };
    }
  }
  return buildModel(ort, options, base, key);
}

/**
 * Builds the model, lets ONNX Runtime optimise it and keeps the result in the cache (under
 * `key`; none: not kept). A cache that cannot be written leaves the model in memory, saying so.
 */
async function buildModel(
  ort: Ort,
  options: PreparedSessionOptions,
  base: OrtSessionOptions,
  key: string | undefined,
): Promise<PreparedModel> {
  const cache = onnxCache;
  const dir = options.cacheDir!;
  let model: Uint8Array | undefined = await options.build();
  // Built again where it was let go for the runtime to read it from disk (only after a failure).
  const fromMemory = async () =>
    ort.InferenceSession.create((model ??= await options.build()), { ...base, graphOptimizationLevel: 'all' });
  const inMemory: PreparedModel = { options: base, session: fromMemory };
  if (!key) return inMemory;
  let entry: Awaited<ReturnType<typeof cache.reserveCacheEntry>>;
  try {
    entry = await cache.reserveCacheEntry(dir, key);
  } catch (err) {
    options.notice?.(
      `cannot write the ONNX cache in '${dir}' (${fileSystemReason(err)}); running without it, so set-up is not saved for next time`,
    );
    return inMemory;
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
    return { options: base, session: async () => session };
  }
  try {
    for (const [name, text] of Object.entries(options.extras?.make() ?? {}))
      await writeFile(join(entry.folder, name), text);
  } catch (err) {
    await entry.abandon();
    options.notice?.(`cannot write the ONNX cache in '${dir}' (${fileSystemReason(err)}); running without it`);
    return inMemory;
  }
  await entry
    .commit()
    .catch((err) =>
      options.notice?.(`cannot write the ONNX cache in '${dir}' (${fileSystemReason(err)}); running without it`),
    );
  // Run on the saved model, as later runs do (its weights memory-mapped, nothing optimised);
  // the optimising session would hold the runtime's working copies of every weight.
  const found = await cache.findCachedOnnx(dir, key);
  if (!found || !('model' in found)) return inMemory;
  return {
    file: found.model,
    options: base,
    async session() {
      try {
        return await openSaved(ort, found.model, base);
      } catch (err) {
        await cache.removeEntry(dir, key);
        options.notice?.(`the prepared model in the cache could not be loaded (${messageOf(err)}); running without it`);
        return fromMemory();
      }
    },
  };
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
    // onnxruntime-node copies every output into a new buffer of its own: the caller's alone.
    release: letGo,
    // Released on the next turn of the event loop, which a process that is about to end (a
    // command's last step) never takes: the exit frees the session with everything else, as it
    // does a bare ONNX Runtime script's, while releasing it took 13-15 ms of a one-image run.
    // In a process that goes on, the timer fires and the session is released at once (a session
    // that fails to close has nothing left for anyone to do).
    dispose: async () => {
      setTimeout(() => void session.release().catch(() => undefined), 0).unref();
    },
  };
}
