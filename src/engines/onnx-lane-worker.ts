/**
 * One lane's thread: an ONNX Runtime session over a saved, prepared model. onnxruntime-node
 * runs a pass on the thread that calls it, so passes run here leave the main thread free to
 * draw the previous image's pictures. Answers carry the outputs as transferred buffers. A lane
 * started ahead (`warm`) loads ONNX Runtime and sets it up, then waits to be told the model.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { loadOrt, startOrtEnvironment, type OrtSessionOptions } from './ort.js';

export interface LaneStart {
  file: string;
  options: OrtSessionOptions;
}

export interface LaneRequest {
  id: number;
  input: Float32Array;
  shape: number[];
  inputName: string;
  outputs: string[];
}

export type LaneAnswer = { id: number; outputs: Float32Array[] } | { id: number; error: string };

/** A lane started ahead says so once ONNX Runtime is set up in it. */
export interface LaneWarmed {
  warmed: true;
}

/** A lane started ahead of its model (prestartLanes) is told which to open when the engine starts. */
export interface LaneOpen {
  open: LaneStart;
}

const port = parentPort!;
const start = workerData as LaneStart | { warm: true };
// Registered first: the model to open may arrive while ONNX Runtime is still setting up.
const opening =
  'file' in start ? start : new Promise<LaneStart>((resolve) => port.once('message', (m: LaneOpen) => resolve(m.open)));
const ort = await loadOrt();
if (!('file' in start)) {
  await startOrtEnvironment(ort);
  port.postMessage({ warmed: true });
}
const { file, options } = await opening;

try {
  const session = await ort.InferenceSession.create(file, options);
  port.on('message', async ({ id, input, shape, inputName, outputs }: LaneRequest) => {
    try {
      // Inside the try: a tensor of the wrong size throws as it is made, not in the pass.
      const result = await session.run({ [inputName]: new ort.Tensor('float32', input, shape) }, outputs);
      const data = outputs.map((name) => result[name].data as Float32Array);
      port.postMessage({ id, outputs: data } satisfies LaneAnswer, uniqueBuffers(data));
    } catch (err) {
      port.postMessage({ id, error: (err as Error).message } satisfies LaneAnswer);
    }
  });
  port.postMessage({ ready: true });
} catch (err) {
  port.postMessage({ failed: (err as Error).message });
}

/** Each output's buffer once (two outputs may be views of one), for transfer. */
function uniqueBuffers(arrays: Float32Array[]): ArrayBuffer[] {
  return [...new Set(arrays.map((a) => a.buffer as ArrayBuffer))];
}
