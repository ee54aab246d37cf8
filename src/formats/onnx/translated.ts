/**
 * The forward pass of a model cnnviz translates to ONNX (Keras layers, graph models): ONNX
 * Runtime when the translation covers the model and the runtime loads, else the format's tfjs
 * engine, saying so: never a silent slow path.
 */
import { CnnvizError, runtimeError } from '../../errors.js';
import type { EngineName } from '../../engines/backend.js';
import type { Forward } from '../../engines/forward.js';
import { UntranslatableError } from './build.js';

export async function translatedOrTfjs(
  request: { engine: EngineName; notice?: (line: string) => void },
  onnx: () => Promise<Forward>,
  tfjs: () => Promise<Forward>,
): Promise<Forward> {
  if (request.engine === 'onnx' || request.engine === 'auto') {
    try {
      return await onnx();
    } catch (err) {
      // A user's error (a weights file of another model) is theirs to fix, on any engine.
      if (err instanceof CnnvizError) throw err;
      const reason = err instanceof UntranslatableError ? `cannot express ${err.message}` : `did not start (${(err as Error).message.split('\n')[0]})`;
      if (request.engine === 'onnx') throw runtimeError(`--backend onnx: ONNX Runtime ${reason}; try --backend wasm`);
      request.notice?.(`ONNX Runtime ${reason}; running on tfjs instead (slower)`);
    }
  }
  return tfjs();
}
