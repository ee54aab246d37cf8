/**
 * A Keras model's forward pass: translated to ONNX and run on ONNX Runtime (the prepared model
 * kept in a cache), or built with tfjs-layers on a tfjs backend. `auto` takes ONNX Runtime
 * when it loads and can express the model, then tfjs-node, then wasm.
 */
import type { BackendName, EngineName } from '../../engines/backend.js';
import type { Forward } from '../../engines/forward.js';
import { buildModel, predict, randomWeights } from './tfjs-model.js';
import { truncatedConfig, type ModelGraph } from './graph.js';
import type { WeightsHandle } from './weights.js';
import { inferShapes } from './shapes.js';

export interface ForwardOptions {
  engine: EngineName;
  weights: WeightsHandle;
  seed?: number;
  explain?: (line: string) => void;
  notice?: (line: string) => void;
  /** Where translated ONNX models are kept between runs; none: not kept. */
  onnxCacheDir?: string;
}

async function onnxForward(graph: ModelGraph, outputs: string[], options: ForwardOptions): Promise<Forward> {
  const { onnxInput, onnxOutputs, TRANSLATOR_VERSIONS } = await import('../onnx/translated.js');
  const { loadOrt, preparedSession, sessionForward } = await import('../../engines/onnx-runtime.js');
  const ort = await loadOrt();
  const session = await preparedSession(ort, {
    cacheDir: options.onnxCacheDir,
    key: options.weights.identity
      ? {
          translator: TRANSLATOR_VERSIONS.keras,
          weights: options.weights.identity,
          config: truncatedConfig(graph, outputs),
          outputs,
        }
      : undefined,
    explain: options.explain,
    notice: options.notice,
    async build() {
      const values = await options.weights.read();
      const weights = values === 'random' ? await randomWeights(graph, outputs, options.seed) : values;
      // Only a cache miss translates (and loads onnx-proto).
      const { translateToOnnx } = await import('./to-onnx.js');
      return translateToOnnx(graph, inferShapes(graph), weights, outputs).model;
    },
  });
  // The translation takes channels-last input and gives channels-last outputs.
  return sessionForward(ort, session, onnxInput, onnxOutputs(outputs));
}

async function tfjsForward(
  graph: ModelGraph,
  outputs: string[],
  options: ForwardOptions,
  backend: BackendName,
): Promise<Forward> {
  const { initBackend } = await import('../../engines/backend.js');
  const engine = await initBackend(backend, options.explain);
  const model = await buildModel(graph, outputs, {
    weights: await options.weights.read(),
    weightsSource: options.weights.path,
    seed: options.seed,
  });
  return {
    engine,
    run: (input, shape) => predict(model, input, shape, graph.dataFormat),
    dispose: async () => {
      model.dispose();
    },
  };
}

export async function createForward(graph: ModelGraph, outputs: string[], options: ForwardOptions): Promise<Forward> {
  const { translatedOrTfjs } = await import('../onnx/translated.js');
  return translatedOrTfjs(
    options,
    () => onnxForward(graph, outputs, options),
    () => tfjsForward(graph, outputs, options, options.engine as BackendName),
  );
}
