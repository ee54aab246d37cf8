/**
 * A MobileNetV2 as tfjs-converter leaves keras.applications' model (BatchNormalization folded,
 * BiasAdd and Relu6 fused into each conv, Pad before strided depthwise convs, AddV2 residuals,
 * Mean, _FusedMatMul, Softmax), narrowed: it draws the five resolution stages its layers-model
 * twin draws and its first filters, equal to tfjs-converter running the same files.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { decodeImage } from '../../../src/image/decode.js';
import { preprocessUnit } from '../../../src/image/preprocess.js';
import { resizeNearest } from '../../../src/image/resize.js';
import { cnnviz } from '../../helpers/cli.js';
import { maxAbsDiff, scaleOf } from '../../helpers/compare.js';
import { loadGraphModelFile, mobileNetV2Graph } from '../../helpers/graph-model.js';
import { parseNpy } from '../../helpers/npy.js';
import { CAT } from '../../helpers/paths.js';

const SIZE = 96;
const STAGES = [
  'block_1_expand_relu/Relu6',
  'block_3_expand_relu/Relu6',
  'block_6_expand_relu/Relu6',
  'block_13_expand_relu/Relu6',
  'Conv_1_relu/Relu6',
];
let MODEL: string;

beforeAll(async () => {
  await tf.setBackend('cpu');
  MODEL = mobileNetV2Graph({ size: SIZE, alpha: 0.35, classes: 10 }).write(
    mkdtempSync(join(tmpdir(), 'cnnviz-mnv2-graph-')),
  );
});

/** The oracle: tfjs-converter's own GraphModel on the same model.json and shard. */
async function tfjsActivations(nodes: string[]): Promise<Float32Array[]> {
  const model = await loadGraphModelFile(MODEL);
  const x = tf.tensor4d(preprocessUnit(resizeNearest(await decodeImage(CAT), SIZE, SIZE).data), [1, SIZE, SIZE, 3]);
  const out = model.execute({ input_1: x }, nodes) as tf.Tensor[];
  return out.map((t) => t.dataSync() as Float32Array);
}

test.each(['onnx', 'wasm'])(
  '--blocks all draws the five resolution stages, equal to tfjs-converter within 1e-4 (--backend %s)',
  async (engine) => {
    const out = mkdtempSync(join(tmpdir(), 'cnnviz-mnv2-graph-out-'));
    const { code, stdout, stderr } = await cnnviz([
      'featuremaps',
      CAT,
      '--model',
      MODEL,
      '--blocks',
      'all',
      '--backend',
      engine,
      '--save-npy',
      '-o',
      out,
    ]);
    expect(code).toBe(0);
    expect(stderr).not.toContain('ONNX Runtime');
    const files = STAGES.map((s) => `cat-${s.replace('/', '_')}`);
    expect(stdout.match(/cat-\S+\.png/g)).toEqual(files.map((f) => `${f}.png`));
    const prefix = `StatefulPartitionedCall/mobilenetv2_0.35_${SIZE}/`;
    const expected = await tfjsActivations(STAGES.map((s) => prefix + s));
    STAGES.forEach((stage, i) => {
      const ours = parseNpy(readFileSync(join(out, `${files[i]}.npy`))).data;
      expect([stage, ours.length, maxAbsDiff(ours, expected[i]) <= 1e-4 * scaleOf(expected[i])]).toEqual([
        stage,
        expected[i].length,
        true,
      ]);
    });
  },
);

test("filters: the first conv's 3x3 RGB kernels", async () => {
  const { code, stdout } = await cnnviz([
    'filters',
    '--model',
    MODEL,
    '--count',
    '6',
    '-o',
    mkdtempSync(join(tmpdir(), 'cnnviz-mnv2-graph-f-')),
  ]);
  expect(code).toBe(0);
  expect(stdout).toContain('Conv1_relu/Relu6 kernel 3x3x3x16: 6 of 16 filters (rows) x 3 input channels (columns)');
});
