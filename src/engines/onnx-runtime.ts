/**
 * ONNX Runtime sessions, shared by every format that runs on it: a Keras model translated to
 * ONNX, or an ONNX file run as it is. Sessions use every core; the runtime's own warnings
 * (that a saved optimised model is processor-specific, say) are not the user's.
 */
import { cpus } from 'node:os';
import { join } from 'node:path';
import type { Forward } from './forward.js';

export type Ort = typeof import('onnxruntime-node');
export type OrtSession = Awaited<ReturnType<Ort['InferenceSession']['create']>>;
export type OrtSessionOptions = NonNullable<Parameters<Ort['InferenceSession']['create']>[1]>;

export async function loadOrt(): Promise<Ort> {
  const ort = await import('onnxruntime-node');
  ort.env.logLevel = 'error';
  return ort;
}

export const baseSessionOptions = (): OrtSessionOptions => ({ intraOpNumThreads: cpus().length, interOpNumThreads: 1, logSeverityLevel: 3 });

export interface PreparedSessionOptions {
  /** Where optimised models are kept between runs; none: not kept. */
  cacheDir?: string;
  /** Everything the prepared model depends on (weights' identity, outputs, sizes); none: not cached. */
  key?: Record<string, unknown>;
  /** The model to optimise, made only when the cache has no entry. */
  build(): Promise<Uint8Array> | Uint8Array;
  explain?: (line: string) => void;
}

/**
 * A session over a model ONNX Runtime has optimised once: the first run builds the model and
 * lets the runtime optimise it (its NCHWc convolution layout is most of the set-up time),
 * saving the result with its weights in a separate file; later runs open that, the weights
 * memory-mapped and nothing optimised again.
 */
export async function preparedSession(ort: Ort, options: PreparedSessionOptions): Promise<OrtSession> {
  const base = baseSessionOptions();
  const cache = options.cacheDir && options.key ? await import('./onnx-cache.js') : undefined;
  const key = cache?.onnxCacheKey({ ...options.key, ort: ort.env.versions.common });
  const cached = key ? await cache!.findCachedOnnx(options.cacheDir!, key) : undefined;
  if (cached) {
    options.explain?.(`ONNX model from the cache: ${cached}`);
    return ort.InferenceSession.create(cached, { ...base, graphOptimizationLevel: 'disabled' });
  }
  const model = await options.build();
  const entry = key ? await cache!.reserveCacheEntry(options.cacheDir!, key) : undefined;
  const save = entry && {
    optimizedModelFilePath: join(entry.folder, cache!.MODEL_FILE),
    extra: { session: { optimized_model_external_initializers_file_name: cache!.WEIGHTS_FILE, optimized_model_external_initializers_min_size_in_bytes: '1024' } },
  };
  try {
    const session = await ort.InferenceSession.create(model, { ...base, graphOptimizationLevel: 'all', ...save });
    await entry?.commit();
    return session;
  } catch (err) {
    await entry?.abandon();
    throw err;
  }
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
