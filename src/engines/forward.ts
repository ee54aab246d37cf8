/**
 * A forward pass behind one interface, whatever runs it: ONNX Runtime (native CPU kernels,
 * the fastest here) or a tfjs backend (tfjs-node, wasm, cpu). Inputs and outputs are
 * channels-last, so callers never ask which engine or layout the model has.
 */
import { cpus } from 'node:os';
import { runtimeError } from '../errors.js';
import type { BackendName, EngineName } from './backend.js';
import { initBackend, triesOnnx } from './backend.js';
import { loadOrt } from './ort.js';

export interface Forward {
  /** What runs it: 'onnx', 'tensorflow', 'wasm' or 'cpu'. */
  engine: string;
  /** How many passes may be under way at once, each in a thread of its own (default 1). */
  lanes?: number;
  /** One pass over a channels-last (N, H, W, C) batch; each requested output, channels-last where 4-d. */
  run(input: Float32Array, shape: [number, number, number, number]): Promise<Float32Array[]>;
  /**
   * Frees a pass's outputs now, once the caller is done with them (every view on them reads
   * empty after), where the engine hands out arrays no one else holds; absent where an output
   * may share memory with the engine's own (tfjs' cpu backend).
   */
  release?(outputs: Float32Array[]): void;
  dispose(): Promise<void>;
}

/** Which engine a forward pass would use, started for real, for --version --verbose. */
export async function describeEngine(engine: EngineName, explain?: (line: string) => void): Promise<string> {
  if (triesOnnx(engine)) {
    try {
      const ort = await loadOrt();
      return `onnx (onnxruntime-node ${ort.env.versions.common}, ${cpus().length} threads); tfjs fallback for models it cannot express`;
    } catch (err) {
      if (engine === 'onnx')
        throw runtimeError(`--backend onnx: onnxruntime-node does not load (${(err as Error).message.split('\n')[0]})`);
      explain?.(`onnxruntime-node does not load (${(err as Error).message.split('\n')[0]}); using tfjs`);
    }
  }
  return initBackend(engine as BackendName, explain);
}
