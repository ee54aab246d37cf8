/**
 * sharp, run in a worker thread of its own. Loading it costs about 100 ms (libvips and its
 * JavaScript), which a worker started early pays beside the main thread's own start-up and
 * model loading; decoding and encoding then leave the main thread free for drawing. Requests
 * go out at once, in order; the worker keeps the process alive only while one is pending.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { runtimeError } from '../errors.js';
import { sharpOperations, type SharpArgs, type SharpOperation, type SharpResult } from './sharp-ops.js';

const WORKER = fileURLToPath(new URL('./sharp-worker.js', import.meta.url));

interface Pending {
  resolve(result: unknown): void;
  reject(err: Error): void;
}

let worker: Worker | undefined;
const pending = new Map<number, Pending>();
let nextId = 0;

function startWorker(): Worker {
  const started = new Worker(WORKER);
  started.on('message', ({ id, result, error }: { id: number; result?: unknown; error?: string }) => {
    const request = pending.get(id)!;
    pending.delete(id);
    if (pending.size === 0) started.unref();
    if (error === undefined) request.resolve(result);
    else request.reject(new Error(error));
  });
  const fail = (reason: string) => {
    if (worker === started) worker = undefined;
    const waiting = [...pending.values()];
    pending.clear();
    for (const request of waiting) request.reject(runtimeError(`the image worker stopped: ${reason}`));
  };
  started.on('error', (err) => fail(err.message));
  started.on('exit', (code) => fail(`exit code ${code}`));
  // After the listeners: adding a 'message' listener refs the worker again.
  started.unref();
  return started;
}

/**
 * Starts the worker (and sharp's loading) now, for a command that will need images: by the
 * time it asks, sharp is ready. Without the compiled worker beside this module (the
 * TypeScript sources run by the tests), sharp runs in this thread instead.
 */
export function startImageWorker(): void {
  if (!worker && existsSync(WORKER)) worker = startWorker();
}

let inThread: ReturnType<typeof sharpOperations> | undefined;

/** One of sharp's operations, in the image worker. Its errors carry sharp's own message. */
export async function sharpCall<K extends SharpOperation>(op: K, args: SharpArgs<K>): Promise<SharpResult<K>> {
  startImageWorker();
  if (!worker) {
    inThread ??= sharpOperations((await import('sharp')).default);
    return inThread[op](args);
  }
  const target = worker;
  return new Promise<SharpResult<K>>((resolve, reject) => {
    const id = nextId++;
    pending.set(id, { resolve: resolve as (result: unknown) => void, reject });
    target.ref();
    target.postMessage({ id, op, args });
  });
}
