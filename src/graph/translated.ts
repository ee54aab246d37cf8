/**
 * What running a translated model needs without the translator (which loads onnx-proto, and a
 * warm run from the cache never translates): the graph's input and output names, the error a
 * translator throws, the translators' versions, and the choice between ONNX Runtime and tfjs.
 */
import { CnnvizError, runtimeError } from '../errors.js';
import { triesOnnx, type EngineName } from '../engines/backend.js';
import type { Forward } from '../engines/forward.js';
import { loadOrt, preparedForward } from '../engines/onnx-runtime.js';

/** A model the translator cannot express; the caller runs it on tfjs instead. */
export class UntranslatableError extends Error {}

/** Bumped when a translation changes, so that cached models made by an older one are not used. */
export const TRANSLATOR_VERSIONS = { keras: 1, graph: 1 };

/** The graph's input name: channels-last (N, H, W, C). */
export const onnxInput = 'input';
/** The graph's output names, one per requested layer, in order. */
export const onnxOutputs = (outputs: string[]): string[] => outputs.map((name) => `${name}:out`);

/** What running a translation on ONNX Runtime takes: where to cache it, under which key, and how to make it. */
export interface TranslatedGraph {
  /** The requested layers' names, in the order the outputs come. */
  outputs: string[];
  /** What the prepared model depends on (the translator's version, the weights, the outputs); none: not cached. */
  key: Record<string, unknown> | undefined;
  /** Translates: run only on a cache miss, so a warm run never loads onnx-proto. */
  translate(): Promise<Uint8Array>;
}

/**
 * A translated graph on ONNX Runtime: prepared once and kept in the cache, run with
 * channels-last input, giving channels-last outputs. What every translating format shares.
 */
export async function translatedForward(
  graph: TranslatedGraph,
  request: {
    onnxCacheDir?: string;
    lanes?: number;
    explain?: (line: string) => void;
    notice?: (line: string) => void;
  },
): Promise<Forward> {
  const ort = await loadOrt();
  return preparedForward(
    ort,
    {
      cacheDir: request.onnxCacheDir,
      key: graph.key,
      lanes: request.lanes,
      explain: request.explain,
      notice: request.notice,
      build: graph.translate,
    },
    { input: onnxInput, outputs: onnxOutputs(graph.outputs) },
  );
}

/**
 * The forward pass of a model cnnviz translates to ONNX: ONNX Runtime when the translation
 * covers the model and the runtime loads, else the format's tfjs engine, saying so: never a
 * silent slow path.
 */
export async function translatedOrTfjs(
  request: { engine: EngineName; notice?: (line: string) => void },
  onnx: () => Promise<Forward>,
  tfjs: () => Promise<Forward>,
): Promise<Forward> {
  if (triesOnnx(request.engine)) {
    try {
      return await onnx();
    } catch (err) {
      // A user's error (a weights file of another model) is theirs to fix, on any engine.
      if (err instanceof CnnvizError) throw err;
      const reason =
        err instanceof UntranslatableError
          ? `cannot express ${err.message}`
          : `did not start (${(err as Error).message.split('\n')[0]})`;
      if (request.engine === 'onnx') throw runtimeError(`--backend onnx: ONNX Runtime ${reason}; try --backend wasm`);
      request.notice?.(`ONNX Runtime ${reason}; running on tfjs instead (slower)`);
    }
  }
  return tfjs();
}
