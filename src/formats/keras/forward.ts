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
import { TRANSLATOR_VERSIONS, translatedForward, translatedOrTfjs } from '../../graph/translated.js';
import { initBackend } from '../../engines/backend.js';

export interface ForwardOptions {
  engine: EngineName;
  weights: WeightsHandle;
  seed?: number;
  explain?: (line: string) => void;
  notice?: (line: string) => void;
  /** Where translated ONNX models are kept between runs; none: not kept. */
  onnxCacheDir?: string;
  /** Passes the caller could keep under way at once (see EngineRequest). */
  lanes?: number;
}

/** What a translation of `outputs` depends on: the translator, the weights, the config up to them; undefined without a weights identity. */
export function translationKey(
  graph: ModelGraph,
  weights: string | undefined,
  outputs: string[],
): Record<string, unknown> | undefined {
  return weights
    ? { translator: TRANSLATOR_VERSIONS.keras, weights, config: truncatedConfig(graph, outputs), outputs }
    : undefined;
}

async function onnxForward(graph: ModelGraph, outputs: string[], options: ForwardOptions): Promise<Forward> {
  const { weights } = options;
  return translatedForward(
    {
      outputs,
      key: translationKey(graph, weights.identity, outputs),
      async translate() {
        const values = await weights.read();
        const arrays = values === 'random' ? await randomWeights(graph, outputs, options.seed) : values;
        // Only a cache miss translates, and loads onnx-proto (about 25 ms) for it.
        const { translateToOnnx } = await import('./to-onnx.js');
        return translateToOnnx(graph, inferShapes(graph), arrays, outputs).model;
      },
    },
    options,
  );
}

async function tfjsForward(
  graph: ModelGraph,
  outputs: string[],
  options: ForwardOptions,
  backend: BackendName,
): Promise<Forward> {
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
  return translatedOrTfjs(
    options,
    () => onnxForward(graph, outputs, options),
    () => tfjsForward(graph, outputs, options, options.engine as BackendName),
  );
}
