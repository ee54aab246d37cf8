/**
 * Forward passes in parallel lanes: one ONNX Runtime session per worker thread, each over the
 * same saved model with its share of the threads. For many images, two one-thread passes side
 * by side do more work per second than one two-thread pass (which waits at every layer's end
 * for its slower half), and the main thread, which a pass in it would block, draws meanwhile.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { runtimeError } from '../errors.js';
import { letGo } from '../memory.js';
import type { Forward } from './forward.js';
import type { LaneAnswer, LaneOpen, LaneRequest, LaneStart, LaneWarmed } from './onnx-lane-worker.js';
import { forwardThreads } from '../config.js';
import type { OrtSessionOptions } from './ort.js';

const WORKER = fileURLToPath(new URL('./onnx-lane-worker.js', import.meta.url));

/** Whether lanes can start here: not without the compiled worker (the TypeScript sources the tests run). */
export const lanesAvailable = (): boolean => existsSync(WORKER);

/** The passes under way in every lane of the process. */
const underWay = new Set<Promise<unknown>>();
/** Lanes started ahead that are still setting ONNX Runtime up, and when they will have. */
const settingUp = new Map<Worker, Promise<void>>();
let exiting = false;

/**
 * Settles once no lane is in the middle of a pass or of setting ONNX Runtime up, and from now
 * on none starts a pass (the process is about to exit). A lane's thread stopped inside the
 * runtime takes the whole process down (onnxruntime-node then throws where nothing can catch
 * it; a run that ended before its lanes started ahead had set up was killed by a signal), so
 * an exit waits: for at most one pass per lane, or a lane's set-up.
 */
export async function lanesSettled(): Promise<void> {
  exiting = true;
  // Held alive meanwhile: otherwise the event loop could empty with the exit still waiting.
  const setting = [...settingUp.keys()];
  for (const worker of setting) worker.ref();
  await Promise.allSettled([...underWay, ...settingUp.values()]);
  // Set up and still waiting for a model (none given one took them): they hold nothing alive.
  for (const worker of setting) if (warm.includes(worker)) worker.unref();
}

/** How many lanes started ahead are still setting ONNX Runtime up. */
export const lanesSettingUp = (): number => settingUp.size;

interface Lane {
  run(request: Omit<LaneRequest, 'id'>): Promise<Float32Array[]>;
  stop(): Promise<void>;
}

/**
 * At most this many lanes, the threads shared out among them: each lane is a session with its
 * own working memory (VGG16: about 70 MB), and more lanes gain little once each has a few threads.
 */
const MAX_LANES = 4;

/** How many lanes `batches` batches run in: one is no lane (a session in the calling thread). */
export const laneCount = (batches: number): number => Math.min(batches, forwardThreads(), MAX_LANES);

/** Lane threads started ahead of the engine, not yet given a model. */
const warm: Worker[] = [];

/**
 * Starts the lanes that `batches` batches will run in, before the engine knows its model: each
 * thread loads ONNX Runtime and sets it up (about 150 ms of a lane's start, a CPU profile of 16
 * images showed) while this thread checks the images and loads the weights. Lanes that are
 * never given a model keep nothing alive; the process ends once they have set up.
 */
export function prestartLanes(batches: number): void {
  if (!lanesAvailable()) return;
  for (let k = warm.length; k < laneCount(batches); k++) {
    const worker = new Worker(WORKER, { workerData: { warm: true } });
    // A lane that fails here fails again, and says why, when it is given its model.
    worker.on('error', () => undefined);
    worker.on('exit', () => {
      const at = warm.indexOf(worker);
      if (at >= 0) warm.splice(at, 1);
    });
    const setUp = new Promise<void>((done) => {
      worker.on('message', (message: object) => 'warmed' in message && done());
      worker.once('exit', () => done());
    });
    settingUp.set(worker, setUp);
    void setUp.then(() => settingUp.delete(worker));
    // After the listeners: adding a 'message' listener refs the worker again.
    worker.unref();
    warm.push(worker);
  }
}

/** How many lanes started ahead wait for their model. */
export const lanesWaiting = (): number => warm.length;

/** A worker with its session open on `file`; rejects with the runtime's message when it cannot open it. */
function startLane(start: LaneStart): Promise<Lane> {
  const ahead = warm.shift();
  const worker = ahead ?? new Worker(WORKER, { workerData: start });
  if (ahead) {
    // Held alive again until its session is open, as a lane started now is.
    ahead.ref();
    ahead.postMessage({ open: start } satisfies LaneOpen);
  }
  const pending = new Map<number, { resolve(outputs: Float32Array[]): void; reject(err: Error): void }>();
  let nextId = 0;
  let stopped = false;
  return new Promise<Lane>((resolve, reject) => {
    const fail = (reason: string) => {
      reject(new Error(reason));
      for (const request of pending.values()) request.reject(runtimeError(`a forward lane stopped: ${reason}`));
      pending.clear();
    };
    worker.on('error', (err) => fail(err.message));
    worker.on('exit', (code) => {
      if (!stopped) fail(`exit code ${code}`);
    });
    worker.on('message', (message: LaneAnswer | LaneWarmed | { ready: true } | { failed: string }) => {
      if ('warmed' in message) return; // a lane started ahead, done setting up: prestartLanes listens
      if ('failed' in message) return fail(message.failed);
      if ('ready' in message) {
        // Idle lanes do not keep the process alive; a pass in flight does.
        worker.unref();
        return resolve({
          run(request) {
            // Exiting: the pass never starts, and its caller waits for the exit.
            if (exiting) return new Promise<never>(() => undefined);
            const pass = new Promise<Float32Array[]>((done, failed) => {
              const id = nextId++;
              pending.set(id, { resolve: done, reject: failed });
              worker.ref();
              worker.postMessage({ id, ...request } satisfies LaneRequest, [request.input.buffer as ArrayBuffer]);
            });
            underWay.add(pass);
            const forget = () => underWay.delete(pass);
            pass.then(forget, forget);
            return pass;
          },
          async stop() {
            stopped = true;
            await worker.terminate();
          },
        });
      }
      const request = pending.get(message.id)!;
      pending.delete(message.id);
      if (pending.size === 0) worker.unref();
      if ('error' in message) request.reject(new Error(message.error));
      else request.resolve(message.outputs);
    });
  });
}

/**
 * A Forward over `lanes` worker sessions on the saved model `file`: up to `lanes` passes run
 * at once, the rest wait for a free lane. Rejects (every lane stopped) when one cannot open
 * the model, for the caller to run it in this thread instead.
 */
export async function laneForward(
  file: string,
  options: OrtSessionOptions,
  io: { input: string; outputs: string[] },
  lanes: number,
): Promise<Forward> {
  const started = await Promise.allSettled(Array.from({ length: lanes }, () => startLane({ file, options })));
  const ready = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    await Promise.all(ready.map((lane) => lane.stop()));
    throw failed.reason;
  }
  const idle = [...ready];
  const waiting: Array<(lane: Lane) => void> = [];
  const release = (lane: Lane) => {
    const next = waiting.shift();
    if (next) next(lane);
    else idle.push(lane);
  };
  return {
    engine: 'onnx',
    lanes,
    async run(batch, shape) {
      const lane = idle.pop() ?? (await new Promise<Lane>((give) => waiting.push(give)));
      try {
        // A copy goes to the lane: the caller keeps its batch.
        return await lane.run({ input: batch.slice(), shape, inputName: io.input, outputs: io.outputs });
      } finally {
        release(lane);
      }
    },
    // Each pass's outputs come transferred from its lane: nothing else holds them.
    release: letGo,
    dispose: async () => {
      await Promise.all(ready.map((lane) => lane.stop()));
    },
  };
}
