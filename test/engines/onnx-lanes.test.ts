/**
 * Forward lanes: ONNX Runtime sessions in worker threads over a saved model. Passes sent at
 * once, more than there are lanes, each come back as one session in this thread computes
 * them; a pass the runtime refuses fails alone, and a model a lane cannot open fails the start.
 * Lanes started ahead of their model open it when the engine starts and compute the same, and
 * an exit waits for them to finish setting up.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as ort from 'onnxruntime-node';
import { FIXTURES, ROOT } from '../helpers/paths.js';
import { IDENTITY_ONNX } from '../../src/engines/ort.js';
import { seededValues } from '../helpers/keras-h5.js';

// The built module: beside it lies the compiled worker (the TypeScript sources have none).
const built = () =>
  import(pathToFileURL(join(ROOT, 'dist', 'engines', 'onnx-lanes.js')).href) as Promise<
    typeof import('../../src/engines/onnx-lanes.js')
  >;

const MODEL = join(FIXTURES, 'onnx', 'tiny_resnet.onnx');
const OPTIONS = { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all' as const };
const SHAPE: [number, number, number, number] = [1, 3, 64, 64];
const io = { input: 'input', outputs: ['logits'] };

test('six passes at once over two lanes each give what a session in this thread gives, the callers keeping their inputs', async () => {
  const { laneForward, lanesAvailable } = await built();
  expect(lanesAvailable()).toBe(true);
  const inputs = Array.from({ length: 6 }, (_, i) => Float32Array.from(seededValues(3 * 64 * 64, 11 + i, 2)));
  const session = await ort.InferenceSession.create(MODEL, OPTIONS);
  const expected: Float32Array[] = [];
  for (const input of inputs)
    expected.push((await session.run({ input: new ort.Tensor('float32', input, SHAPE) })).logits.data as Float32Array);
  await session.release();

  const forward = await laneForward(MODEL, OPTIONS, io, 2);
  try {
    expect([forward.engine, forward.lanes]).toEqual(['onnx', 2]);
    const results = await Promise.all(inputs.map((input) => forward.run(input, SHAPE)));
    results.forEach(([logits], i) => {
      expect(logits).toHaveLength(10);
      expect(Buffer.from(logits.buffer, logits.byteOffset, logits.byteLength)).toEqual(
        Buffer.from(expected[i].buffer, expected[i].byteOffset, expected[i].byteLength),
      );
    });
    // Sent as copies: the caller's arrays are neither moved to the worker nor changed.
    expect(inputs[0]).toHaveLength(3 * 64 * 64);
    expect(inputs[5][0]).toBe(Math.fround(seededValues(1, 16, 2)[0]));
  } finally {
    await forward.dispose();
  }
});

test("a pass the runtime refuses fails with the runtime's message; the lane goes on serving", async () => {
  const { laneForward } = await built();
  const forward = await laneForward(MODEL, OPTIONS, io, 1);
  try {
    await expect(forward.run(new Float32Array(3 * 32 * 32), [1, 3, 32, 33])).rejects.toThrow(
      /input|dimension|shape|size/i,
    );
    const [logits] = await forward.run(new Float32Array(3 * 64 * 64), SHAPE);
    expect(logits).toHaveLength(10);
  } finally {
    await forward.dispose();
  }
});

test("a model the lanes cannot open fails their start with the runtime's reason", async () => {
  const { laneForward } = await built();
  const bad = join(mkdtempSync(join(tmpdir(), 'cnnviz-lanes-')), 'model.onnx');
  writeFileSync(bad, 'not a model');
  await expect(laneForward(bad, OPTIONS, io, 2)).rejects.toThrow(/protobuf|parsing|load|model/i);
});

test('lanes started ahead of their model open it when the engine starts, and give what a session in this thread gives', async () => {
  const { laneCount, laneForward, prestartLanes, lanesWaiting } = await built();
  prestartLanes(2);
  // Two on a machine of two cores or more (the lanes share out its threads).
  expect(lanesWaiting()).toBe(laneCount(2));
  const input = Float32Array.from(seededValues(3 * 64 * 64, 5, 2));
  const session = await ort.InferenceSession.create(MODEL, OPTIONS);
  const expected = (await session.run({ input: new ort.Tensor('float32', input, SHAPE) })).logits.data as Float32Array;
  await session.release();
  const forward = await laneForward(MODEL, OPTIONS, io, 2);
  try {
    // Both lanes were the ones started ahead: none waits any more.
    expect(lanesWaiting()).toBe(0);
    const results = await Promise.all([forward.run(input, SHAPE), forward.run(input, SHAPE)]);
    for (const [logits] of results) expect(Buffer.from(logits.buffer)).toEqual(Buffer.from(expected.buffer));
  } finally {
    await forward.dispose();
  }
});

test("lanes started ahead that cannot open their model fail the start with the runtime's reason", async () => {
  const { laneForward, prestartLanes, lanesWaiting } = await built();
  prestartLanes(2);
  const bad = join(mkdtempSync(join(tmpdir(), 'cnnviz-lanes-')), 'model.onnx');
  writeFileSync(bad, 'not a model');
  await expect(laneForward(bad, OPTIONS, io, 2)).rejects.toThrow(/protobuf|parsing|load|model/i);
  expect(lanesWaiting()).toBe(0);
});

test('the model that sets ONNX Runtime up ahead is one Identity node: it gives back its input', async () => {
  const session = await ort.InferenceSession.create(Buffer.from(IDENTITY_ONNX, 'base64'));
  try {
    expect([session.inputNames, session.outputNames]).toEqual([['x'], ['y']]);
    const { y } = await session.run({ x: new ort.Tensor('float32', Float32Array.of(0.375), [1]) });
    expect(Array.from(y.data as Float32Array)).toEqual([0.375]);
  } finally {
    await session.release();
  }
});

test('a process that exits as soon as it has started its lanes ahead waits for them, and then ends', () => {
  // In a process of its own: nothing else keeps its event loop alive while it waits.
  const lanes = pathToFileURL(join(ROOT, 'dist', 'engines', 'onnx-lanes.js')).href;
  const script = `import { prestartLanes, lanesSettled, lanesSettingUp } from '${lanes}';
prestartLanes(2);
await lanesSettled();
console.log('settled', lanesSettingUp());`;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
  expect([run.status, run.stdout.trim()]).toEqual([0, 'settled 0']);
});

// Last in the file: after lanesSettled the module's lanes start no pass (the process is exiting).
test('an exit waits for lanes started ahead to finish setting ONNX Runtime up (a thread stopped inside it kills the process)', async () => {
  const { laneCount, lanesSettled, lanesSettingUp, lanesWaiting, prestartLanes } = await built();
  prestartLanes(2);
  expect(lanesSettingUp()).toBe(laneCount(2));
  await lanesSettled();
  expect(lanesSettingUp()).toBe(0);
  // Set up, and still waiting for a model nobody will give them: the exit may now stop them.
  expect(lanesWaiting()).toBe(laneCount(2));
});
