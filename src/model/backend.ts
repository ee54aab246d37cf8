/**
 * The compute engine for forward passes. `auto` takes tfjs-node (native TensorFlow) when it
 * is installed and loads, else the wasm backend, which ships inside its npm package. The
 * pure-JS cpu backend is about 30 times slower on VGG16: only on explicit request.
 */
import { runtimeError } from '../errors.js';

export type BackendName = 'auto' | 'tensorflow' | 'wasm' | 'cpu';

async function tryTensorflow(explain: (line: string) => void): Promise<boolean> {
  try {
    await import('@tensorflow/tfjs-node' as string);
    return true;
  } catch (err) {
    const code = (err as { code?: string }).code;
    const reason = code === 'ERR_MODULE_NOT_FOUND' ? 'not installed (it is optional)' : `present but does not load: ${(err as Error).message.split('\n')[0]}`;
    explain(`tfjs-node ${reason}; falling back`);
    return false;
  }
}

let active: Promise<string> | undefined;

/**
 * Sets up the requested backend once per process and returns the name of the one in use.
 * `explain` receives one line per fallback (shown under --verbose).
 */
export function initBackend(requested: BackendName, explain: (line: string) => void = () => {}): Promise<string> {
  active ??= (async () => {
    const tf = await import('@tensorflow/tfjs-core');
    if (requested === 'tensorflow' || requested === 'auto') {
      if (await tryTensorflow(explain)) {
        await tf.setBackend('tensorflow');
        return 'tensorflow';
      }
      if (requested === 'tensorflow') {
        throw runtimeError(`--backend tensorflow needs @tensorflow/tfjs-node, which is not usable here; try --backend wasm`);
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
  })();
  return active;
}
