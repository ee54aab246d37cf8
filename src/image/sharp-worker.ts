/**
 * The image worker's thread: sharp loads here, beside the main thread's start-up and model
 * loading, and decodes and encodes without holding the main thread (which ONNX Runtime's
 * forward pass blocks). Answers carry their pixels as transferred buffers, not copies.
 */
import { createRequire } from 'node:module';
import { parentPort } from 'node:worker_threads';
import { sharpOperations, type SharpOperation } from './sharp-ops.js';

const port = parentPort!;
// require, not import(): Node's ESM loader parses every CommonJS file of sharp's for its exports
// first, which doubles its load (43 against 81 ms, medians of 4).
const operations = sharpOperations(createRequire(import.meta.url)('sharp') as typeof import('sharp').default);

port.on('message', ({ id, op, args }: { id: number; op: SharpOperation; args: never }) => {
  operations[op](args).then(
    (result) => {
      // sharp's buffers live outside the JS heap and cannot be transferred: one copy, on this thread.
      const owned = copyData(result);
      const data = owned instanceof Uint8Array ? owned : (owned as { data?: Uint8Array }).data;
      port.postMessage({ id, result: owned }, data ? [data.buffer as ArrayBuffer] : []);
    },
    (err: unknown) => port.postMessage({ id, error: err instanceof Error ? err.message : String(err) }),
  );
});

function copyData<T>(result: T): T {
  if (result instanceof Uint8Array) return result.slice() as T;
  if (result && typeof result === 'object' && 'data' in result && result.data instanceof Uint8Array)
    return { ...result, data: result.data.slice() };
  return result;
}
