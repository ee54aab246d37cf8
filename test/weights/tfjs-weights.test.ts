/**
 * Quantized TensorFlow.js weights, dequantized exactly as tfjs does: each kind checked against
 * tf.io.decodeWeights, and the shared trained tiny-vgg quantized as tfjs-converter does
 * (uint8, uint16, float16) drawn by cnnviz equal to tfjs running the same files.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
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
  const theirs = tf.io.decodeWeights(buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.length), specs as never);
  for (const weight of ours) expect([weight.name, Array.from(weight.data)]).toEqual([weight.name, Array.from(theirs[weight.name].dataSync())]);
});

test('an unknown quantization dtype, or shards shorter than the manifest, is named in one line', () => {
  expect(() => decodeTfjsWeights(new Uint8Array(8), [{ name: 'w', shape: [2], dtype: 'float32', quantization: { dtype: 'int4' } }], "'m.json'")).toThrow(
    "'m.json': weight 'w' is quantized as 'int4', which tfjs does not define (uint8, uint16, float16)",
  );
  expect(() => decodeTfjsWeights(new Uint8Array(6), [{ name: 'w', shape: [2], dtype: 'float32' }], "'m.json'")).toThrow(
    "'m.json': the weight shards hold 6 bytes, but the manifest declares more (weight 'w' ends at byte 8)",
  );
});

describe.each(KINDS)('tiny-vgg quantized to %s', (kind) => {
  withTinyVgg()('featuremaps of both stages equal tfjs on the same files within 1e-4 of the max', async () => {
    const path = quantizeModelJson(TINY_VGG, kind);
    const out = mkdtempSync(join(tmpdir(), 'cnnviz-q-out-'));
    const { code, stderr } = await cnnviz(['featuremaps', CAT, '--model', path, '--blocks', 'all', '--save-npy', '--resize', 'nearest', '-o', out]);
    expect([code, stderr.includes('quantized')]).toEqual([0, false]);
    // tfjs' own reading of the same model.json and shard, through its file-free loader.
    const json = JSON.parse(readFileSync(path, 'utf8'));
    const weightData = readFileSync(join(path, '..', 'weights.bin'));
    const model = await tfl.loadLayersModel(
      tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0].weights, weightData: weightData.buffer.slice(weightData.byteOffset, weightData.byteOffset + weightData.length) }),
    );
    const probe = tfl.model({ inputs: model.inputs, outputs: ['relu_1_2', 'relu_2_2'].map((n) => model.getLayer(n).output as tfl.SymbolicTensor) });
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
