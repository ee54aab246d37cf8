/**
 * Quantized TensorFlow.js weights, dequantized exactly as tfjs does: each kind checked against
 * tf.io.decodeWeights, and the shared trained tiny-vgg quantized as tfjs-converter does
 * (uint8, uint16, float16) drawn by cnnviz equal to tfjs running the same files.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { decodeImage } from '../../src/image/decode.js';
import { preprocessUnit } from '../../src/image/preprocess.js';
import { resizeNearest } from '../../src/image/resize.js';
import { decodeTfjsWeights, type WeightSpec } from '../../src/weights/tfjs-weights.js';
import { cnnviz } from '../helpers/cli.js';
import { maxAbsDiff, scaleOf } from '../helpers/compare.js';
import { seededValues } from '../helpers/keras-h5.js';
import { parseNpy } from '../helpers/npy.js';
import { GraphModelWriter } from '../helpers/graph-model.js';
import { CAT, TINY_VGG, withTinyVgg } from '../helpers/paths.js';
import { quantize, quantizeModelJson, type QuantizeAs } from '../helpers/quantize.js';

const KINDS: QuantizeAs[] = ['uint8', 'uint16', 'float16'];

beforeAll(async () => {
  await tf.setBackend('cpu');
});

test.each(KINDS)('%s: the same float32 values as tf.io.decodeWeights, at any offset in the shard', (kind) => {
  const a = seededValues(37, 1, 3);
  const b = Float32Array.from(seededValues(11, 2, 0.5), (v) => v + 2); // all positive: no zero nudge
  const qa = quantize(a, kind);
  const qb = quantize(b, kind);
  const specs: WeightSpec[] = [
    { name: 'l/a', shape: [37], dtype: 'float32', quantization: qa.quantization },
    { name: 'l/plain', shape: [3], dtype: 'float32' },
    { name: 'l/b', shape: [11], dtype: 'float32', quantization: qb.quantization },
  ];
  const buffer = Buffer.concat([qa.bytes, new Uint8Array(Float32Array.of(1.5, -2, 3).buffer), qb.bytes]);
  const ours = decodeTfjsWeights(buffer, specs, 'test');
  const theirs = tf.io.decodeWeights(
    buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.length),
    specs as never,
  );
  for (const weight of ours)
    expect([weight.name, Array.from(weight.data)]).toEqual([weight.name, Array.from(theirs[weight.name].dataSync())]);
});

test('an unknown quantization dtype, or shards shorter than the manifest, is named in one line', () => {
  expect(() =>
    decodeTfjsWeights(
      new Uint8Array(8),
      [{ name: 'w', shape: [2], dtype: 'float32', quantization: { dtype: 'int4' } }],
      "'m.json'",
    ),
  ).toThrow("'m.json': weight 'w' is quantized as 'int4', which tfjs does not define (uint8, uint16, float16)");
  expect(() => decodeTfjsWeights(new Uint8Array(6), [{ name: 'w', shape: [2], dtype: 'float32' }], "'m.json'")).toThrow(
    "'m.json': the weight shards hold 6 bytes, but the manifest declares more (weight 'w' ends at byte 8)",
  );
});

describe.each(KINDS)('tiny-vgg quantized to %s', (kind) => {
  withTinyVgg()('featuremaps of both stages equal tfjs on the same files within 1e-4 of the max', async () => {
    const path = quantizeModelJson(TINY_VGG, kind);
    const out = mkdtempSync(join(tmpdir(), 'cnnviz-q-out-'));
    const { code, stderr } = await cnnviz([
      'featuremaps',
      CAT,
      '--model',
      path,
      '--blocks',
      'all',
      '--save-npy',
      '--resize',
      'nearest',
      '-o',
      out,
    ]);
    expect([code, stderr.includes('quantized')]).toEqual([0, false]);
    // tfjs' own reading of the same model.json and shard, through its file-free loader.
    const json = JSON.parse(readFileSync(path, 'utf8'));
    const weightData = readFileSync(join(path, '..', 'weights.bin'));
    const model = await tfl.loadLayersModel(
      tf.io.fromMemory({
        modelTopology: json.modelTopology,
        weightSpecs: json.weightsManifest[0].weights,
        weightData: weightData.buffer.slice(weightData.byteOffset, weightData.byteOffset + weightData.length),
      }),
    );
    const probe = tfl.model({
      inputs: model.inputs,
      outputs: ['relu_1_2', 'relu_2_2'].map((n) => model.getLayer(n).output as tfl.SymbolicTensor),
    });
    // The same input (the input pipeline is checked on its own: PIL-exact resize, 'unit' scaling).
    const pixels = preprocessUnit(resizeNearest(await decodeImage(CAT), 64, 64).data);
    const outputs = probe.predict(tf.tensor4d(pixels, [1, 64, 64, 3])) as tf.Tensor[];
    for (const [i, name] of ['relu_1_2', 'relu_2_2'].entries()) {
      const ours = parseNpy(readFileSync(join(out, `cat-${name}.npy`))).data;
      const theirs = outputs[i].dataSync() as Float32Array;
      expect(maxAbsDiff(ours, theirs) / scaleOf(theirs)).toBeLessThan(1e-4);
    }
  });
});

describe('a damaged weightsManifest is named in one line, exit 2, from any model.json', () => {
  const graph = () => {
    const g = new GraphModelWriter('input', [8, 8, 3]);
    g.node('relu', 'Relu', [g.node('add', 'AddV2', ['input', g.constant('bias', [3], [1, 2, 3])])]);
    return g;
  };
  test.each([
    [
      'a negative dim',
      (m: any) => (m.weightsManifest[0].weights[0].shape = [-3]),
      /weightsManifest \(\[0\]\.weights\[0\]\.shape\[0\]: Too small: expected number to be >=0\)/,
    ],
    [
      'a dim given as text',
      (m: any) => (m.weightsManifest[0].weights[0].shape = ['3']),
      /weightsManifest \(\[0\]\.weights\[0\]\.shape\[0\]: Invalid input: expected number, received string\)/,
    ],
    [
      'a fractional dim',
      (m: any) => (m.weightsManifest[0].weights[0].shape = [1.5]),
      /weightsManifest \(\[0\]\.weights\[0\]\.shape\[0\]: Invalid input: expected int, received number\)/,
    ],
    [
      'dims past any array',
      (m: any) => (m.weightsManifest[0].weights[0].shape = [65536, 65536]),
      /weightsManifest \(\[0\]\.weights\[0\]\.shape: more values than an array can hold\)/,
    ],
    [
      'paths that are not a list',
      (m: any) => (m.weightsManifest[0].paths = 'group1-shard1of1.bin'),
      /weightsManifest \(\[0\]\.paths: Invalid input: expected array, received string\)/,
    ],
  ])('%s', async (_name, damage, message) => {
    const dir = mkdtempSync(join(tmpdir(), 'cnnviz-manifest-'));
    const path = graph().write(dir);
    const json = JSON.parse(readFileSync(path, 'utf8'));
    damage(json);
    writeFileSync(path, JSON.stringify(json));
    for (const args of [
      ['summary', '--model', path],
      ['featuremaps', CAT, '--model', path, '--layer', 'relu', '-o', join(dir, 'out')],
    ]) {
      const { code, stderr } = await cnnviz(args);
      expect(stderr).toMatch(message);
      expect(stderr.trim().split('\n')).toHaveLength(1);
      expect(code).toBe(2);
    }
    expect(existsSync(join(dir, 'out'))).toBe(false);
  });
});
