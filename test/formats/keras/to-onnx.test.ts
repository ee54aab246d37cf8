/**
 * ONNX Runtime must compute what tfjs computes: for every layer type the translator covers,
 * a small model runs through both engines and the activations agree within 1e-4 of their scale.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { initBackend } from '../../../src/engines/backend.js';
import { buildModel, predict } from '../../../src/formats/keras/tfjs-model.js';
import { createForward } from '../../../src/formats/keras/forward.js';
import { graphFromKerasConfig, type ModelGraph } from '../../../src/formats/keras/graph.js';
import { inMemoryWeights } from '../../../src/formats/keras/weights.js';
import type { LayerWeights } from '../../../src/weights/h5.js';
import {
  convWeight,
  depthwiseWeight,
  translateToOnnx,
  UntranslatableError,
} from '../../../src/formats/keras/to-onnx.js';
import { inferShapes } from '../../../src/formats/keras/shapes.js';
import { maxAbsDiff, scaleOf } from '../../helpers/compare.js';
import { seededValues } from '../../helpers/keras-h5.js';

type Apply = (x: tfl.SymbolicTensor, df: 'channelsLast' | 'channelsFirst') => tfl.SymbolicTensor | tfl.SymbolicTensor[];
const L = tfl.layers;
const sym = (t: unknown) => t as tfl.SymbolicTensor;

const CASES: Array<[string, Apply]> = [
  [
    'Conv2D same, fused relu',
    (x, df) =>
      sym(
        L.conv2d({ filters: 5, kernelSize: 3, padding: 'same', activation: 'relu', dataFormat: df, name: 'out' }).apply(
          x,
        ),
      ),
  ],
  [
    'Conv2D valid, stride 2, odd size',
    (x, df) => sym(L.conv2d({ filters: 4, kernelSize: [3, 2], strides: 2, dataFormat: df, name: 'out' }).apply(x)),
  ],
  [
    'Conv2D same, stride 2 (TF pads the extra pixel at the end)',
    (x, df) =>
      sym(L.conv2d({ filters: 4, kernelSize: 4, strides: 2, padding: 'same', dataFormat: df, name: 'out' }).apply(x)),
  ],
  [
    'Conv2D dilated',
    (x, df) =>
      sym(
        L.conv2d({ filters: 3, kernelSize: 3, dilationRate: 2, padding: 'same', dataFormat: df, name: 'out' }).apply(x),
      ),
  ],
  [
    'DepthwiseConv2D, multiplier 2',
    (x, df) =>
      sym(
        L.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, padding: 'same', dataFormat: df, name: 'out' }).apply(x),
      ),
  ],
  // depth multiplier 1: tfjs' SeparableConv2D loses another multiplier in its own config round trip.
  [
    'SeparableConv2D',
    (x, df) => sym(L.separableConv2d({ filters: 6, kernelSize: 3, dataFormat: df, name: 'out' }).apply(x)),
  ],
  [
    'MaxPooling2D valid and same',
    (x, df) =>
      sym(
        L.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same', dataFormat: df, name: 'out' }).apply(
          sym(L.maxPooling2d({ poolSize: 2, dataFormat: df }).apply(x)),
        ),
      ),
  ],
  [
    'AveragePooling2D same (padding not counted)',
    (x, df) =>
      sym(L.averagePooling2d({ poolSize: 3, strides: 2, padding: 'same', dataFormat: df, name: 'out' }).apply(x)),
  ],
  [
    'GlobalAveragePooling2D and GlobalMaxPooling2D',
    (x, df) => [
      sym(L.globalAveragePooling2d({ dataFormat: df, name: 'out' }).apply(x)),
      sym(L.globalMaxPooling2d({ dataFormat: df, name: 'out2' }).apply(x)),
    ],
  ],
  [
    'Flatten and Dense with softmax',
    (x) =>
      sym(L.dense({ units: 7, activation: 'softmax', name: 'out' }).apply(sym(L.flatten({ name: 'flat' }).apply(x)))),
  ],
  [
    'BatchNormalization',
    (x, df) => sym(L.batchNormalization({ axis: df === 'channelsLast' ? -1 : 1, epsilon: 0.01, name: 'out' }).apply(x)),
  ],
  [
    'ZeroPadding2D',
    (x, df) =>
      sym(
        L.zeroPadding2d({
          padding: [
            [1, 2],
            [0, 3],
          ],
          dataFormat: df,
          name: 'out',
        }).apply(x),
      ),
  ],
  [
    'Add, Multiply, Maximum, Minimum, Average',
    (x, df) => {
      const a = sym(L.conv2d({ filters: 4, kernelSize: 1, dataFormat: df, name: 'a' }).apply(x));
      return ['add', 'multiply', 'maximum', 'minimum', 'average'].map((op, i) =>
        sym((L as any)[op]({ name: i ? `out${i}` : 'out' }).apply([a, x])),
      );
    },
  ],
  [
    'Concatenate on channels',
    (x, df) =>
      sym(
        L.concatenate({ axis: df === 'channelsLast' ? -1 : 1, name: 'out' }).apply([
          x,
          sym(L.conv2d({ filters: 2, kernelSize: 1, dataFormat: df }).apply(x)),
        ]),
      ),
  ],
  [
    'Activations',
    (x) =>
      ['relu', 'sigmoid', 'tanh', 'elu', 'selu', 'softplus', 'softsign', 'relu6', 'swish', 'hardSigmoid', 'linear'].map(
        (a, i) => sym(L.activation({ activation: a as never, name: i ? `out${i}` : 'out' }).apply(x)),
      ),
  ],
  [
    'ReLU with max, LeakyReLU, ELU, Softmax layers, Dropout',
    (x) => [
      sym(L.reLU({ maxValue: 0.5, name: 'out' }).apply(x)),
      sym(L.leakyReLU({ alpha: 0.2, name: 'out1' }).apply(x)),
      sym(L.elu({ name: 'out2' }).apply(x)), // tfjs runs only the default alpha
      sym(L.softmax({ axis: -1, name: 'out3' }).apply(x)),
      sym(L.dropout({ rate: 0.5, name: 'out4' }).apply(x)),
    ],
  ],
];

beforeAll(async () => {
  await initBackend('wasm');
});

/** Builds the case as a tfjs model, gives every weight seeded values (BN variances positive). */
function caseModel(
  apply: Apply,
  df: 'channelsLast' | 'channelsFirst',
): { graph: ModelGraph; weights: LayerWeights; outputs: string[] } {
  const input = tfl.input({ shape: df === 'channelsLast' ? [9, 11, 4] : [4, 9, 11], name: 'in' });
  // A first conv declares the data format, as in any real model (Keras' default is channels_last).
  const first = sym(L.conv2d({ filters: 4, kernelSize: 1, dataFormat: df, name: 'first' }).apply(input));
  const result = apply(first, df);
  const heads = Array.isArray(result) ? result : [result];
  const model = tfl.model({ inputs: input, outputs: heads });
  const weights: LayerWeights = new Map();
  model.layers.forEach((layer, l) => {
    const values = layer.weights.map((w, k) => {
      const size = (w.shape as number[]).reduce((a, b) => a * b, 1);
      const data = seededValues(size, 100 + l * 10 + k, 0.5);
      if (w.originalName.includes('variance')) data.forEach((v, i) => (data[i] = Math.abs(v) + 0.2));
      return { name: w.originalName, shape: w.shape as number[], data };
    });
    weights.set(layer.name, values);
  });
  const graph = graphFromKerasConfig(model.toJSON(null, false) as never);
  const outputs = heads.map((h) => h.sourceLayer.name);
  model.dispose();
  return { graph, weights, outputs };
}

/**
 * Where tfjs itself is wrong, it cannot be the reference: channels-first BatchNormalization
 * (tfjs broadcasts the statistics along the last axis; checked by hand below) and
 * channels-first SeparableConv2D (tfjs fails to add its bias).
 */
const TFJS_WRONG_CHANNELS_FIRST = new Set(['BatchNormalization', 'SeparableConv2D']);

describe.each(['channelsLast', 'channelsFirst'] as const)('%s', (df) => {
  const cases = CASES.filter(([name]) => df === 'channelsLast' || !TFJS_WRONG_CHANNELS_FIRST.has(name));
  test.each(cases)('%s: ONNX Runtime agrees with tfjs', async (_name, apply) => {
    const { graph, weights, outputs } = caseModel(apply, df);
    const input = seededValues(2 * 9 * 11 * 4, 7, 2);
    const reference = await buildModel(graph, outputs, { weights });
    const expected = await predict(reference, input, [2, 9, 11, 4], graph.dataFormat);
    reference.dispose();
    const onnx = await createForward(graph, outputs, { engine: 'onnx', weights: inMemoryWeights(weights) });
    expect(onnx.engine).toBe('onnx');
    const actual = await onnx.run(input, [2, 9, 11, 4]);
    await onnx.dispose();
    outputs.forEach((name, i) => {
      expect([name, actual[i].length]).toEqual([name, expected[i].length]);
      expect(maxAbsDiff(actual[i], expected[i])).toBeLessThanOrEqual(1e-4 * Math.max(scaleOf(expected[i]), 1e-6));
    });
  });
});

test('kernels are re-laid out for ONNX: (kh, kw, in, out) to (out, in, kh, kw)', () => {
  const kernel = Float32Array.from({ length: 2 * 3 * 4 * 5 }, (_, i) => i);
  const w = convWeight(kernel, [2, 3, 4, 5]);
  // kernel[i=1, j=2, c=3, f=4] lands at W[f=4, c=3, i=1, j=2]
  expect(w[((4 * 4 + 3) * 2 + 1) * 3 + 2]).toBe(kernel[((1 * 3 + 2) * 4 + 3) * 5 + 4]);
  const d = depthwiseWeight(kernel, [2, 3, 4, 5]);
  // depthwise kernel[i, j, c, m] lands at W[c * mult + m, 0, i, j]
  expect(d[((3 * 5 + 4) * 2 + 1) * 3 + 2]).toBe(kernel[((1 * 3 + 2) * 4 + 3) * 5 + 4]);
});

test('a layer the translator does not cover is named, and auto falls back to tfjs saying why', async () => {
  const input = tfl.input({ shape: [8, 8, 3], name: 'in' });
  const up = sym(L.upSampling2d({ size: [2, 2], name: 'up' }).apply(input));
  const out = sym(L.conv2d({ filters: 2, kernelSize: 3, name: 'out' }).apply(up));
  const model = tfl.model({ inputs: input, outputs: out });
  const graph = graphFromKerasConfig(model.toJSON(null, false) as never);
  const weights: LayerWeights = new Map(
    model.layers.map((l) => [
      l.name,
      l.getWeights().map((w, k) => ({ name: String(k), shape: w.shape, data: w.dataSync() as Float32Array })),
    ]),
  );
  model.dispose();
  expect(() => translateToOnnx(graph, inferShapes(graph), weights, ['out'])).toThrow(UntranslatableError);
  const tensorsBefore = tf.memory().numTensors;
  const lines: string[] = [];
  const forward = await createForward(graph, ['out'], {
    engine: 'auto',
    weights: inMemoryWeights(weights),
    notice: (l) => lines.push(l),
  });
  expect(forward.engine).toBe('wasm');
  // Said as a notice, not under --verbose only: tfjs is the slower path.
  expect(lines).toEqual(["ONNX Runtime cannot express layer 'up' (UpSampling2D); running on tfjs instead (slower)"]);
  await forward.dispose();
  await expect(createForward(graph, ['out'], { engine: 'onnx', weights: inMemoryWeights(weights) })).rejects.toThrow(
    "--backend onnx: ONNX Runtime cannot express layer 'up' (UpSampling2D)",
  );
  // The model built on tfjs is disposed with the forward pass: no tensor leaks.
  expect(tf.memory().numTensors).toBe(tensorsBefore);
});

test('channels-first BatchNormalization normalises each channel, checked by hand', async () => {
  const { graph, weights } = caseModel(CASES.find(([n]) => n === 'BatchNormalization')![1], 'channelsFirst');
  const input = seededValues(2 * 9 * 11 * 4, 7, 2);
  const onnx = await createForward(graph, ['first', 'out'], { engine: 'onnx', weights: inMemoryWeights(weights) });
  const [first, out] = await onnx.run(input, [2, 9, 11, 4]);
  await onnx.dispose();
  const [gamma, beta, mean, variance] = weights.get('out')!.map((w) => w.data);
  const expected = first.map((v, i) => {
    const c = i % 4; // channels-last output: the channel is the fastest axis
    return (gamma[c] * (v - mean[c])) / Math.sqrt(variance[c] + 0.01) + beta[c];
  });
  expect(maxAbsDiff(out, expected)).toBeLessThanOrEqual(1e-4 * scaleOf(expected));
});
