import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { buildModel, predict } from '../../../src/formats/keras/tfjs-model.js';
import { initBackend } from '../../../src/engines/backend.js';
import { graphFromKerasConfig, type KerasModelConfig } from '../../../src/formats/keras/graph.js';
import { openKerasWeights } from '../../../src/weights/h5.js';
import { FIXTURES } from '../../helpers/paths.js';

const [H, W] = [5, 4];

/** The architecture whose weights fixtures/keras-h5/tiny_conv.h5 holds (written by h5py). */
const tinyConv: KerasModelConfig = {
  class_name: 'Functional',
  config: {
    name: 'tiny_conv',
    layers: [
      {
        class_name: 'InputLayer',
        name: 'input_1',
        config: { name: 'input_1', batch_input_shape: [null, H, W, 3] },
        inbound_nodes: [],
      },
      {
        class_name: 'Conv2D',
        name: 'conv',
        config: { name: 'conv', filters: 2, kernel_size: [3, 3], padding: 'valid', activation: 'relu', use_bias: true },
        inbound_nodes: [[['input_1', 0, 0, {}]]],
      },
      {
        class_name: 'MaxPooling2D',
        name: 'pool',
        config: { name: 'pool', pool_size: [2, 2] },
        inbound_nodes: [[['conv', 0, 0, {}]]],
      },
    ],
    input_layers: [['input_1', 0, 0]],
    output_layers: [['pool', 0, 0]],
  },
};

/** A valid 3x3 convolution plus bias and ReLU, by loops, independent of tfjs. */
function referenceConv(input: Float32Array, kernel: Float32Array, bias: Float32Array): Float32Array {
  const [oh, ow, cin, cout] = [H - 2, W - 2, 3, 2];
  const out = new Float32Array(oh * ow * cout);
  for (let y = 0; y < oh; y++)
    for (let x = 0; x < ow; x++)
      for (let f = 0; f < cout; f++) {
        let sum = bias[f];
        for (let i = 0; i < 3; i++)
          for (let j = 0; j < 3; j++)
            for (let c = 0; c < cin; c++)
              sum += input[((y + i) * W + (x + j)) * cin + c] * kernel[((i * 3 + j) * cin + c) * cout + f];
        out[(y * ow + x) * cout + f] = Math.max(0, sum);
      }
  return out;
}

beforeAll(async () => {
  await initBackend('wasm');
});

test('a forward pass with weights from an h5py-written Keras file matches a hand computation', async () => {
  const file = await openKerasWeights(join(FIXTURES, 'keras-h5', 'tiny_conv.h5'));
  const weights = file.read();
  file.close();
  const graph = graphFromKerasConfig(tinyConv);
  const model = await buildModel(graph, ['conv'], { weights });
  const input = Float32Array.from({ length: H * W * 3 }, (_, i) => Math.sin(i) * 2);
  const [activation] = await predict(model, input, [1, H, W, 3]);
  const [kernel, bias] = weights.get('conv')!;
  const expected = referenceConv(input, kernel.data, bias.data);
  expect(activation.length).toBe(expected.length);
  activation.forEach((v, i) => expect(v).toBeCloseTo(expected[i], 4));
  expect(expected.some((v) => v > 0) && expected.some((v) => v === 0)).toBe(true); // both ReLU branches exercised
  model.dispose();
});

test('several outputs come from one model, in the order asked', async () => {
  const graph = graphFromKerasConfig(tinyConv);
  const model = await buildModel(graph, ['pool', 'conv'], { weights: 'random', seed: 3 });
  const outputs = await predict(model, new Float32Array(2 * H * W * 3).fill(1), [2, H, W, 3]);
  expect(outputs.map((o) => o.length)).toEqual([2 * 1 * 1 * 2, 2 * 3 * 2 * 2]);
  model.dispose();
});

test('random weights are seeded: the same seed gives the same kernel, another seed another', async () => {
  const graph = graphFromKerasConfig(tinyConv);
  const kernelOf = async (seed: number) => {
    const model = await buildModel(graph, ['conv'], { weights: 'random', seed });
    const values = Array.from(await model.getLayer('conv').getWeights()[0].data());
    model.dispose();
    return values;
  };
  expect(await kernelOf(7)).toEqual(await kernelOf(7));
  expect(await kernelOf(7)).not.toEqual(await kernelOf(8));
});

test('a weights file of the wrong shape names the layer and both shapes', async () => {
  const file = await openKerasWeights(join(FIXTURES, 'keras-h5', 'tiny_conv.h5'));
  const weights = file.read();
  file.close();
  const wider = JSON.parse(JSON.stringify(tinyConv));
  wider.config.layers[1].config.filters = 4;
  await expect(
    buildModel(graphFromKerasConfig(wider), ['conv'], { weights, weightsSource: 'tiny_conv.h5' }),
  ).rejects.toThrow(
    "tiny_conv.h5: layer 'conv' weight 'conv/kernel:0' has shape (3, 3, 3, 2), the model expects (3, 3, 3, 4)",
  );
});

test('forward passes leave no tensors behind', async () => {
  const graph = graphFromKerasConfig(tinyConv);
  const model = await buildModel(graph, ['conv', 'pool'], { weights: 'random' });
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) await predict(model, new Float32Array(H * W * 3), [1, H, W, 3]);
  expect(tf.memory().numTensors).toBe(before);
  model.dispose();
});
