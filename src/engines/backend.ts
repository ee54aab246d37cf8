/**
 * The compute engine for forward passes. `auto` takes tfjs-node (native TensorFlow) when it
 * is installed and loads, else the wasm backend, which ships inside its npm package. The
 * pure-JS cpu backend is about 30 times slower on VGG16: only on explicit request.
 */
import { runtimeError } from '../errors.js';

/** The tfjs backends. */
export type BackendName = 'auto' | 'tensorflow' | 'wasm' | 'cpu';
/** What --backend takes: ONNX Runtime or a tfjs backend (see model/forward.ts). */
export type EngineName = BackendName | 'onnx';
export const ENGINES: readonly EngineName[] = ['auto', 'onnx', 'tensorflow', 'wasm', 'cpu'];

/** Whether a choice of engine runs on ONNX Runtime where it can ('auto' tries it before tfjs). */
export const triesOnnx = (engine: EngineName): boolean => engine === 'onnx' || engine === 'auto';

export interface BackendOptions {
  /** Receives one line per fallback (shown under --verbose). */
  explain?: (line: string) => void;
  /** Loads tfjs-node; replaceable so tests can stand in a missing or broken install. */
  importTfjsNode?: () => Promise<unknown>;
}

async function tryTensorflow(options: BackendOptions): Promise<boolean> {
  try {
    await (options.importTfjsNode ?? (() => import('@tensorflow/tfjs-node' as string)))();
    return true;
  } catch (err) {
    const code = (err as { code?: string }).code;
    const missing = code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
    const reason = missing
      ? 'not installed (it is optional)'
      : `present but does not load (${(err as Error).message.split('\n')[0]})`;
    options.explain?.(`tfjs-node ${reason}; using wasm`);
    return false;
  }
}

/**
 * Production mode: no debug checks, and no console advice (tfjs prints a banner about
 * tfjs-node on first use of the cpu backend, which would break the one-line-output rule).
 */
export function quietTfjs(tf: typeof import('@tensorflow/tfjs-core')): void {
  tf.env().set('PROD', true);
}

/** Sets up the requested backend and returns the name of the one in use. */
export async function selectBackend(requested: BackendName, options: BackendOptions = {}): Promise<string> {
  const tf = await import('@tensorflow/tfjs-core');
  quietTfjs(tf);
  if (requested === 'tensorflow' || requested === 'auto') {
    if (await tryTensorflow(options)) {
      if (await tf.setBackend('tensorflow')) return 'tensorflow';
      options.explain?.('tfjs-node loaded but its backend did not start; using wasm');
    }
    if (requested === 'tensorflow') {
      throw runtimeError(
        '--backend tensorflow needs @tensorflow/tfjs-node, which is not usable here; try --backend wasm',
      );
    }
  }
  if (requested === 'cpu') {
    await import('@tensorflow/tfjs-backend-cpu');
    await tf.setBackend('cpu');
    return 'cpu';
  }
  await import('@tensorflow/tfjs-backend-wasm');
  if (!(await tf.setBackend('wasm'))) throw runtimeError('the wasm backend failed to start; try --backend cpu');
  await tf.ready();
  return 'wasm';
}

let active: Promise<string> | undefined;

/** selectBackend, once per process: the CLI's commands share the engine they start. */
export function initBackend(requested: BackendName, explain?: (line: string) => void): Promise<string> {
  active ??= selectBackend(requested, { explain });
  return active;
}
