/**
 * TensorFlow.js graph models (converted from SavedModels): a small one written as tfjs-converter
 * writes it (fused conv with BiasAdd and Relu, max pool, fused depthwise with Relu6, Pad, Mean,
 * constants in the weights manifest, int32 ones included), drawn by cnnviz and computed
 * independently with tfjs' own ops.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
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
import { parseNpy } from '../../helpers/npy.js';
import { CAT } from '../../helpers/paths.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const ints = (...v: number[]) => ({ list: { i: v.map(String) } });
const dir = mkdtempSync(join(tmpdir(), 'cnnviz-graph-'));
const tmp = (name: string) => mkdtempSync(join(tmpdir(), `cnnviz-graph-${name}-`));

const W = { filter: seededValues(3 * 3 * 3 * 4, 1, 0.5), bias: seededValues(4, 2, 0.2), dw: seededValues(3 * 3 * 4 * 2, 3, 0.5), dwBias: seededValues(8, 4, 0.2) };

function writeGraphModel(): string {
  const consts: Array<[string, number[], 'float32' | 'int32', ArrayLike<number>]> = [
    ['model/block/conv/filter', [3, 3, 3, 4], 'float32', W.filter],
    ['model/block/conv/bias', [4], 'float32', W.bias],
    ['model/block2/dw/filter', [3, 3, 4, 2], 'float32', W.dw],
    ['model/block2/dw/bias', [8], 'float32', W.dwBias],
    ['model/block2/pad/paddings', [4, 2], 'int32', [0, 0, 1, 1, 1, 1, 0, 0]],
    ['model/head/axes', [2], 'int32', [1, 2]],
  ];
  const node = (name: string, op: string, input: string[], attr: Record<string, unknown> = {}) => ({ name, op, input, attr: { T: { type: 'DT_FLOAT' }, ...attr } });
  const nodes = [
    { name: 'input', op: 'Placeholder', attr: { dtype: { type: 'DT_FLOAT' }, shape: { shape: { dim: [{ size: '-1' }, { size: '16' }, { size: '16' }, { size: '3' }] } } } },
    ...consts.map(([name, , dtype]) => ({ name, op: 'Const', attr: { dtype: { type: dtype === 'int32' ? 'DT_INT32' : 'DT_FLOAT' }, value: { tensor: { dtype: dtype === 'int32' ? 'DT_INT32' : 'DT_FLOAT' } } } })),
    node('model/block/conv/Conv2D', '_FusedConv2D', ['input', 'model/block/conv/filter', 'model/block/conv/bias'], {
      strides: ints(1, 1, 1, 1),
      padding: { s: b64('SAME') },
      data_format: { s: b64('NHWC') },
      dilations: ints(1, 1, 1, 1),
      num_args: { i: '1' },
      fused_ops: { list: { s: [b64('BiasAdd'), b64('Relu')] } },
      epsilon: { f: 0 },
    }),
    node('model/block/pool/MaxPool', 'MaxPool', ['model/block/conv/Conv2D'], { ksize: ints(1, 2, 2, 1), strides: ints(1, 2, 2, 1), padding: { s: b64('VALID') }, data_format: { s: b64('NHWC') } }),
    node('model/block2/dw/depthwise', 'FusedDepthwiseConv2dNative', ['model/block/pool/MaxPool', 'model/block2/dw/filter', 'model/block2/dw/bias'], {
      strides: ints(1, 2, 2, 1),
      padding: { s: b64('SAME') },
      data_format: { s: b64('NHWC') },
      dilations: ints(1, 1, 1, 1),
      num_args: { i: '1' },
      fused_ops: { list: { s: [b64('BiasAdd'), b64('Relu6')] } },
    }),
    node('model/block2/pad/Pad', 'Pad', ['model/block2/dw/depthwise', 'model/block2/pad/paddings'], { Tpaddings: { type: 'DT_INT32' } }),
    node('model/head/Mean', 'Mean', ['model/block2/pad/Pad', 'model/head/axes'], { keep_dims: { b: false }, Tidx: { type: 'DT_INT32' } }),
  ];
  const bytes = Buffer.concat(consts.map(([, , dtype, v]) => Buffer.from((dtype === 'int32' ? Int32Array.from(v) : Float32Array.from(v)).buffer)));
  const folder = join(dir, 'converted');
  mkdirSync(folder);
  writeFileSync(join(folder, 'group1-shard1of1.bin'), bytes);
  const json = {
    format: 'graph-model',
    generatedBy: '2.15.0',
    convertedBy: 'TensorFlow.js Converter v4.22.0',
    modelTopology: { node: nodes, library: {}, versions: { producer: 1645 } },
    weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights: consts.map(([name, shape, dtype]) => ({ name, shape, dtype })) }],
  };
  writeFileSync(join(folder, 'model.json'), JSON.stringify(json));
  return join(folder, 'model.json');
}

let MODEL: string;
let expected: Record<string, Float32Array>;

beforeAll(async () => {
  await tf.setBackend('cpu');
  MODEL = writeGraphModel();
  // The oracle: the same network in tfjs ops, on the input cnnviz feeds ('unit' scaling).
  const x = tf.tensor4d(preprocessUnit(resizeNearest(await decodeImage(CAT), 16, 16).data), [1, 16, 16, 3]);
  const conv = tf.relu(tf.add(tf.conv2d(x, tf.tensor4d(W.filter, [3, 3, 3, 4]), 1, 'same'), tf.tensor1d(W.bias)));
  const pool = tf.maxPool(conv as tf.Tensor4D, 2, 2, 'valid');
  const dw = tf.clipByValue(tf.add(tf.depthwiseConv2d(pool, tf.tensor4d(W.dw, [3, 3, 4, 2]), 2, 'same'), tf.tensor1d(W.dwBias)), 0, 6);
  const pad = tf.pad(dw, [[0, 0], [1, 1], [1, 1], [0, 0]]);
  expected = { Conv2D: conv.dataSync() as Float32Array, depthwise: dw.dataSync() as Float32Array, Pad: pad.dataSync() as Float32Array };
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

test('featuremaps of any 4-d node, by tail or full name, equal tfjs ops within 1e-4', async () => {
  const out = tmp('maps');
  const { code, stdout } = await cnnviz(['featuremaps', CAT, '--model', MODEL, '--layer', 'Conv2D', 'model/block2/dw/depthwise', 'block2/pad/Pad', '--save-npy', '-o', out]);
  expect(code).toBe(0);
  expect(stdout).toContain('depthwise 4x4: 8 of 8 maps');
  for (const name of ['Conv2D', 'depthwise', 'Pad']) {
    const ours = parseNpy(readFileSync(join(out, `cat-${name}.npy`))).data;
    expect([name, maxAbsDiff(ours, expected[name]) <= 1e-4 * scaleOf(expected[name])]).toEqual([name, true]);
  }
});

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

test('--backend onnx is refused in one line (graph models run on tfjs)', async () => {
  const { code, stderr } = await cnnviz(['featuremaps', CAT, '--model', MODEL, '--backend', 'onnx', '-o', tmp('onnx')]);
  expect([code, stderr]).toEqual([2, 'cnnviz: --backend onnx: graph models run on TensorFlow.js (no ONNX translation yet); use --backend auto, wasm or tensorflow\n']);
});

test('a layer past an op cnnviz cannot size is named with that op, in one line', async () => {
  const json = JSON.parse(readFileSync(MODEL, 'utf8'));
  json.modelTopology.node.find((n: { name: string }) => n.name === 'model/block/pool/MaxPool').op = 'MyFancyPool';
  const path = join(dir, 'converted', 'fancy.json');
  writeFileSync(path, JSON.stringify(json));
  const { code, stderr } = await cnnviz(['featuremaps', CAT, '--model', path, '--layer', 'depthwise', '-o', tmp('fancy')]);
  expect([code, stderr]).toEqual([2, "cnnviz: the shape of 'depthwise' is unknown: the first layer cnnviz cannot size is 'MaxPool' (MyFancyPool)\n"]);
});
