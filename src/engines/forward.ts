/**
 * The forward pass behind one interface, whatever runs it: ONNX Runtime (native CPU kernels,
 * the fastest here), tfjs-node, or tfjs' wasm or cpu backends. `auto` takes ONNX Runtime when
 * it loads and can express the model, then tfjs-node, then wasm.
 */
import { cpus } from 'node:os';
import { join } from 'node:path';
import { CnnvizError, runtimeError } from '../errors.js';
import type { BackendName, EngineName } from './backend.js';
import { buildModel, predict, randomWeights } from './tfjs.js';
import { truncatedConfig, type ModelGraph } from '../formats/keras/graph.js';
import type { WeightsHandle } from '../formats/model.js';
import type { LayerWeights } from '../weights/h5.js';
import { inferShapes } from '../formats/keras/shapes.js';


export interface Forward {
  /** What runs it: 'onnx', 'tensorflow', 'wasm' or 'cpu'. */
  engine: string;
  /** One pass over a channels-last batch; each requested layer's output, channels-last. */
  run(input: Float32Array, shape: [number, number, number, number]): Promise<Float32Array[]>;
  dispose(): Promise<void>;
}

export interface ForwardOptions {
  engine: EngineName;
  weights: WeightsHandle;
  seed?: number;
  explain?: (line: string) => void;
  /** Where translated ONNX models are kept between runs; none: not kept. */
  onnxCacheDir?: string;
}

async function onnxForward(graph: ModelGraph, outputs: string[], options: ForwardOptions): Promise<Forward> {
  const { translateToOnnx, onnxInput, onnxOutputs, TRANSLATOR_VERSION } = await import('./keras-to-onnx.js');
  const ort = await import('onnxruntime-node');
  // ONNX Runtime's own warnings (e.g. that a saved optimised model is processor-specific) are not the user's.
  ort.env.logLevel = 'error';
  const base = { intraOpNumThreads: cpus().length, interOpNumThreads: 1, logSeverityLevel: 3 as const };
  const cache = options.onnxCacheDir && options.weights.identity ? await import('./onnx-cache.js') : undefined;
  const key = cache?.onnxCacheKey({
    translator: TRANSLATOR_VERSION,
    ort: ort.env.versions.common,
    weights: options.weights.identity,
    config: truncatedConfig(graph, outputs),
    outputs,
  });
  const cached = key ? await cache!.findCachedOnnx(options.onnxCacheDir!, key) : undefined;
  let session: Awaited<ReturnType<typeof ort.InferenceSession.create>>;
  if (cached) {
    options.explain?.(`ONNX model from the cache: ${cached}`);
    session = await ort.InferenceSession.create(cached, { ...base, graphOptimizationLevel: 'disabled' });
  } else {
    const values = await options.weights.read();
    const weights = values === 'random' ? await randomWeights(graph, outputs, options.seed) : values;
    const model = translateToOnnx(graph, inferShapes(graph), weights, outputs).model;
    const entry = key ? await cache!.reserveCacheEntry(options.onnxCacheDir!, key) : undefined;
    const save = entry && {
      optimizedModelFilePath: join(entry.folder, cache!.MODEL_FILE),
      extra: { session: { optimized_model_external_initializers_file_name: cache!.WEIGHTS_FILE, optimized_model_external_initializers_min_size_in_bytes: '1024' } },
    };
    try {
      session = await ort.InferenceSession.create(model, { ...base, graphOptimizationLevel: 'all', ...save });
      await entry?.commit();
    } catch (err) {
      await entry?.abandon();
      throw err;
    }
  }
  const inputName = onnxInput;
  const outputNames = onnxOutputs(outputs);
  return {
    engine: 'onnx',
    async run(input, shape) {
      const result = await session.run({ [inputName]: new ort.Tensor('float32', input, shape) });
      return outputNames.map((name) => result[name].data as Float32Array);
    },
    dispose: async () => {
      await session.release();
    },
  };
}

async function tfjsForward(graph: ModelGraph, outputs: string[], options: ForwardOptions, backend: BackendName): Promise<Forward> {
  const { initBackend } = await import('./backend.js');
  const engine = await initBackend(backend, options.explain);
  const model = await buildModel(graph, outputs, { weights: await options.weights.read(), weightsSource: options.weights.path, seed: options.seed });
  return {
    engine,
    run: (input, shape) => predict(model, input, shape, graph.dataFormat),
    dispose: async () => {
      model.dispose();
    },
  };
}

export async function createForward(graph: ModelGraph, outputs: string[], options: ForwardOptions): Promise<Forward> {
  if (options.engine === 'onnx' || options.engine === 'auto') {
    try {
      return await onnxForward(graph, outputs, options);
    } catch (err) {
      const { UntranslatableError } = await import('./keras-to-onnx.js');
      // A user's error (a weights file of another model) is theirs to fix, on any engine.
      if (err instanceof CnnvizError) throw err;
      const reason = err instanceof UntranslatableError ? `cannot express ${err.message}` : `did not start (${(err as Error).message.split('\n')[0]})`;
      if (options.engine === 'onnx') throw runtimeError(`--backend onnx: ONNX Runtime ${reason}; try --backend wasm`);
      options.explain?.(`ONNX Runtime ${reason}; running on tfjs`);
    }
  }
  return tfjsForward(graph, outputs, options, options.engine as BackendName);
}

/** Which engine a forward pass would use, started for real, for --version --verbose. */
export async function describeEngine(engine: EngineName, explain?: (line: string) => void): Promise<string> {
  if (engine === 'onnx' || engine === 'auto') {
    try {
      const ort = await import('onnxruntime-node');
      return `onnx (onnxruntime-node ${ort.env.versions.common}, ${cpus().length} threads); tfjs fallback for models it cannot express`;
    } catch (err) {
      if (engine === 'onnx') throw runtimeError(`--backend onnx: onnxruntime-node does not load (${(err as Error).message.split('\n')[0]})`);
      explain?.(`onnxruntime-node does not load (${(err as Error).message.split('\n')[0]}); using tfjs`);
    }
  }
  const { initBackend } = await import('./backend.js');
  return initBackend(engine as BackendName, explain);
}
