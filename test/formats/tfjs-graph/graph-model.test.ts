/**
 * TensorFlow.js graph models (converted from SavedModels): a small one written as tfjs-converter
 * writes it (fused conv with BiasAdd and Relu, max pool, fused depthwise with Relu6, Pad, Mean,
 * constants in the weights manifest, int32 ones included), drawn by cnnviz and computed
 * independently with tfjs' own ops.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { decodeImage } from '../../../src/image/decode.js';
import { preprocessUnit } from '../../../src/image/preprocess.js';
import { resizeNearest } from '../../../src/image/resize.js';
import { shortestTails } from '../../../src/formats/tfjs-graph/model.js';
import { cnnviz } from '../../helpers/cli.js';
import { maxAbsDiff, scaleOf } from '../../helpers/compare.js';
import { seededValues } from '../../helpers/keras-h5.js';
import { fusedAttr, GraphModelWriter, intsAttr, stringAttr } from '../../helpers/graph-model.js';
import { parseNpy } from '../../helpers/npy.js';
import { CAT } from '../../helpers/paths.js';

const dir = mkdtempSync(join(tmpdir(), 'cnnviz-graph-'));
const tmp = (name: string) => mkdtempSync(join(tmpdir(), `cnnviz-graph-${name}-`));

const W = {
  filter: seededValues(3 * 3 * 3 * 4, 1, 0.5),
  bias: seededValues(4, 2, 0.2),
  dw: seededValues(3 * 3 * 4 * 2, 3, 0.5),
  dwBias: seededValues(8, 4, 0.2),
};

function graphModel(padOp: 'Pad' | 'MirrorPad' = 'Pad'): GraphModelWriter {
  const g = new GraphModelWriter('input', [16, 16, 3]);
  const nhwc = { data_format: stringAttr('NHWC'), dilations: intsAttr(1, 1, 1, 1) };
  const fused = (...ops: string[]) => ({ num_args: { i: '1' }, fused_ops: fusedAttr(...ops), epsilon: { f: 0 } });
  const conv = g.node(
    'model/block/conv/Conv2D',
    '_FusedConv2D',
    [
      'input',
      g.constant('model/block/conv/filter', [3, 3, 3, 4], W.filter),
      g.constant('model/block/conv/bias', [4], W.bias),
    ],
    {
      ...nhwc,
      strides: intsAttr(1, 1, 1, 1),
      padding: stringAttr('SAME'),
      ...fused('BiasAdd', 'Relu'),
    },
  );
  const pool = g.node('model/block/pool/MaxPool', 'MaxPool', [conv], {
    ksize: intsAttr(1, 2, 2, 1),
    strides: intsAttr(1, 2, 2, 1),
    padding: stringAttr('VALID'),
    data_format: stringAttr('NHWC'),
  });
  const dw = g.node(
    'model/block2/dw/depthwise',
    'FusedDepthwiseConv2dNative',
    [pool, g.constant('model/block2/dw/filter', [3, 3, 4, 2], W.dw), g.constant('model/block2/dw/bias', [8], W.dwBias)],
    {
      ...nhwc,
      strides: intsAttr(1, 2, 2, 1),
      padding: stringAttr('SAME'),
      ...fused('BiasAdd', 'Relu6'),
    },
  );
  const paddings = g.constant('model/block2/pad/paddings', [4, 2], [0, 0, 1, 1, 1, 1, 0, 0], 'int32');
  const pad = g.node('model/block2/pad/Pad', padOp, [dw, paddings], {
    Tpaddings: { type: 'DT_INT32' },
    ...(padOp === 'MirrorPad' ? { mode: stringAttr('SYMMETRIC') } : {}),
  });
  g.node('model/head/Mean', 'Mean', [pad, g.constant('model/head/axes', [2], [1, 2], 'int32')], {
    keep_dims: { b: false },
    Tidx: { type: 'DT_INT32' },
  });
  return g;
}

let MODEL: string;
let expected: Record<string, Float32Array>;

beforeAll(async () => {
  await tf.setBackend('cpu');
  MODEL = graphModel().write(join(dir, 'converted'));
  // The oracle: the same network in tfjs ops, on the input cnnviz feeds ('unit' scaling).
  const x = tf.tensor4d(preprocessUnit(resizeNearest(await decodeImage(CAT), 16, 16).data), [1, 16, 16, 3]);
  const conv = tf.relu(tf.add(tf.conv2d(x, tf.tensor4d(W.filter, [3, 3, 3, 4]), 1, 'same'), tf.tensor1d(W.bias)));
  const pool = tf.maxPool(conv as tf.Tensor4D, 2, 2, 'valid');
  const dw = tf.clipByValue(
    tf.add(tf.depthwiseConv2d(pool, tf.tensor4d(W.dw, [3, 3, 4, 2]), 2, 'same'), tf.tensor1d(W.dwBias)),
    0,
    6,
  );
  const pad = tf.pad(dw, [
    [0, 0],
    [1, 1],
    [1, 1],
    [0, 0],
  ]);
  const mirror = tf.mirrorPad(
    dw,
    [
      [0, 0],
      [1, 1],
      [1, 1],
      [0, 0],
    ],
    'symmetric',
  );
  expected = {
    Conv2D: conv.dataSync() as Float32Array,
    depthwise: dw.dataSync() as Float32Array,
    Pad: pad.dataSync() as Float32Array,
    mirror: mirror.dataSync() as Float32Array,
  };
});

test('names are shown by their shortest unique tail', () => {
  expect(shortestTails(['a/b/Relu', 'a/c/Relu', 'a/c/Conv2D', 'x'])).toEqual(['b/Relu', 'c/Relu', 'Conv2D', 'x']);
});

test('summary: a row per node but constants, with their output shapes and the parameters they read; stages marked', async () => {
  const { code, stdout } = await cnnviz(['summary', '--model', MODEL, '--json']);
  expect(code).toBe(0);
  const summary = JSON.parse(stdout);
  expect(summary.rows.map((r: any) => [r.index, r.name, r.type, r.outputShape, r.params, r.stage ?? null])).toEqual([
    [0, 'input', 'Placeholder', '(None, 16, 16, 3)', 0, null],
    [1, 'Conv2D', '_FusedConv2D', '(None, 16, 16, 4)', 3 * 3 * 3 * 4 + 4, 1],
    [2, 'MaxPool', 'MaxPool', '(None, 8, 8, 4)', 0, null],
    [3, 'depthwise', 'FusedDepthwiseConv2dNative', '(None, 4, 4, 8)', 3 * 3 * 4 * 2 + 8, 2],
    [4, 'Pad', 'Pad', '(None, 6, 6, 8)', 0, null],
    [5, 'Mean', 'Mean', '(None, 8)', 0, null],
  ]);
  // The total counts the float weights: both kernels and both biases.
  expect(summary.totalParams).toBe(3 * 3 * 3 * 4 + 4 + 3 * 3 * 4 * 2 + 8);
});

test.each(['onnx', 'wasm'])(
  'featuremaps of any 4-d node, by tail or full name, equal tfjs ops within 1e-4 (--backend %s)',
  async (engine) => {
    const out = tmp('maps');
    const { code, stdout, stderr } = await cnnviz([
      'featuremaps',
      CAT,
      '--model',
      MODEL,
      '--backend',
      engine,
      '--layer',
      'Conv2D',
      'model/block2/dw/depthwise',
      'block2/pad/Pad',
      '--save-npy',
      '-o',
      out,
    ]);
    expect(code).toBe(0);
    // The translation covers every op here: no fallback said.
    expect(stderr).not.toContain('ONNX Runtime');
    expect(stdout).toContain('depthwise 4x4: 8 of 8 maps');
    for (const name of ['Conv2D', 'depthwise', 'Pad']) {
      const ours = parseNpy(readFileSync(join(out, `cat-${name}.npy`))).data;
      expect([name, maxAbsDiff(ours, expected[name]) <= 1e-4 * scaleOf(expected[name])]).toEqual([name, true]);
    }
  },
);

test('--blocks all: the stages end at the fused conv and the depthwise conv', async () => {
  const { code, stdout } = await cnnviz(['featuremaps', CAT, '--model', MODEL, '--blocks', 'all', '-o', tmp('blocks')]);
  expect(code).toBe(0);
  expect(stdout.match(/cat-\S+\.png/g)).toEqual(['cat-Conv2D.png', 'cat-depthwise.png']);
});

test('filters: a conv kernel HWIO as rows of filters, a depthwise HWCM kernel one column per filter', async () => {
  const conv = await cnnviz(['filters', '--model', MODEL, '--count', 'all', '--channels', 'all', '-o', tmp('f1')]);
  expect(conv.stdout).toContain('Conv2D kernel 3x3x3x4: 4 filters (rows) x 3 input channels (columns)');
  const dw = await cnnviz(['filters', '--model', MODEL, '--layer', 'depthwise', '--count', 'all', '-o', tmp('f2')]);
  expect(dw.stdout).toContain('depthwise kernel 3x3x1x8: 8 filters (rows) x 1 input channels (columns)');
});

test('an op the ONNX translation does not cover (a symmetric MirrorPad) runs on tfjs-converter, said in one line', async () => {
  const path = graphModel('MirrorPad').write(join(dir, 'mirror'));
  const out = tmp('mirror');
  const auto = await cnnviz(['featuremaps', CAT, '--model', path, '--layer', 'Pad', '--save-npy', '-o', out]);
  expect(auto.code).toBe(0);
  expect(auto.stderr.split('\n').filter((line) => line.includes('ONNX'))).toEqual([
    "cnnviz: ONNX Runtime cannot express 'model/block2/pad/Pad' (MirrorPad SYMMETRIC); running on tfjs instead (slower)",
  ]);
  expect(
    maxAbsDiff(parseNpy(readFileSync(join(out, 'cat-Pad.npy'))).data, expected.mirror) <=
      1e-4 * scaleOf(expected.mirror),
  ).toBe(true);
  const onnx = await cnnviz([
    'featuremaps',
    CAT,
    '--model',
    path,
    '--layer',
    'Pad',
    '--backend',
    'onnx',
    '-o',
    tmp('mirror-onnx'),
  ]);
  expect([onnx.code, onnx.stderr]).toEqual([
    1,
    "cnnviz: --backend onnx: ONNX Runtime cannot express 'model/block2/pad/Pad' (MirrorPad SYMMETRIC); try --backend wasm\n",
  ]);
});

test('a layer past an op cnnviz cannot size is named with that op, in one line', async () => {
  const json = JSON.parse(readFileSync(MODEL, 'utf8'));
  json.modelTopology.node.find((n: { name: string }) => n.name === 'model/block/pool/MaxPool').op = 'MyFancyPool';
  const path = join(dir, 'converted', 'fancy.json');
  writeFileSync(path, JSON.stringify(json));
  const { code, stderr } = await cnnviz([
    'featuremaps',
    CAT,
    '--model',
    path,
    '--layer',
    'depthwise',
    '-o',
    tmp('fancy'),
  ]);
  expect([code, stderr]).toEqual([
    2,
    "cnnviz: the shape of 'depthwise' is unknown: the first layer cnnviz cannot size is 'MaxPool' (MyFancyPool)\n",
  ]);
});
