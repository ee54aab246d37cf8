/**
 * A whole trained model's gradient against TensorFlow.js' own autodiff: the tiny-vgg (fixtures'
 * copy) is translated to ONNX as cnnviz runs it (channels-last, convs wrapped in transposes),
 * its gradient graph gives d(sum(probabilities * seed))/d(input) and d(...)/d(relu_2_2), and
 * tf.grad on the same layers model, same weights, same input is the oracle: within 1e-4 of
 * the gradient's largest value.
 */
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import * as ort from 'onnxruntime-node';
import { resolveArchitecture } from '../../src/formats/keras/model.js';
import { inferShapes } from '../../src/formats/keras/shapes.js';
import { translateToOnnx } from '../../src/formats/keras/to-onnx.js';
import { decodeModel } from '../../src/graph/proto.js';
import { gradientModel, gradientName, seedName } from '../../src/graph/gradient.js';
import { onnxInput, onnxOutputs } from '../../src/graph/translated.js';
import { maxAbsDiff, scaleOf } from '../helpers/compare.js';
import { seededValues } from '../helpers/keras-h5.js';
import { FIXTURES } from '../helpers/paths.js';
import { loadLayersModelFile } from '../helpers/model-files.js';

const MODEL = join(FIXTURES, 'models', 'tiny-vgg', 'model.json');

test('tiny-vgg: the gradient of a class logit mix with respect to the input and to relu_2_2 equals tf.grad', async () => {
  await tf.setBackend('cpu');
  const arch = await resolveArchitecture(MODEL, { includeTop: true });
  const weights = await arch.file!.model.readWeights();
  const { model: bytes } = translateToOnnx(arch.graph, inferShapes(arch.graph), weights, ['output', 'relu_2_2']);
  const [probabilities, inner] = onnxOutputs(['output', 'relu_2_2']);
  const forward = decodeModel('tiny-vgg.onnx', bytes);
  const producer = (tensor: string) => forward.graph.node.find((n) => n.output[0] === tensor)!;
  // The translation names its inner tensors itself: relu_2_2's maps are what its output Identity
  // reads; the logits are the Softmax's input (a saturated softmax would drown the gradient in
  // float32 rounding, so Grad-CAM and the tests differentiate the logits).
  const relu = producer(inner).input[0];
  let node = producer(producer(probabilities).input[0]);
  while (node.opType !== 'Softmax') node = producer(node.input[0]);
  const logits = node.input[0];
  const gradient = gradientModel({
    model: forward,
    input: { name: onnxInput, shape: [null, 64, 64, 3] },
    target: logits,
    wrt: [onnxInput, relu],
  });

  const x = Float32Array.from(seededValues(64 * 64 * 3, 21, 0.5), (v) => v + 0.5);
  const seed = Float32Array.from({ length: 10 }, (_, k) => (k === 6 ? 1 : 0.1 * k - 0.4));
  const session = await ort.InferenceSession.create(gradient);
  const out = await session.run({
    [onnxInput]: new ort.Tensor('float32', x, [1, 64, 64, 3]),
    [seedName(logits)]: new ort.Tensor('float32', seed, [1, 10]),
  });
  await session.release();

  // The oracle: the layers model itself, its logits (the Dense layer before its softmax), differentiated by TensorFlow.js.
  const model = await loadLayersModelFile(MODEL);
  const layers = model.layers;
  const from = (name: string) =>
    layers.slice(
      layers.findIndex((l) => l.name === name) + 1,
      layers.findIndex((l) => l.name === 'output'),
    );
  const dense = model.getLayer('output').getWeights();
  const logitsOf = (t: tf.Tensor) => tf.add(tf.matMul(t as tf.Tensor2D, dense[0] as tf.Tensor2D), dense[1]);
  const objective = (start: string) => (t: tf.Tensor) =>
    tf.sum(
      tf.mul(logitsOf(from(start).reduce((a, layer) => layer.apply(a) as tf.Tensor, t)), tf.tensor2d(seed, [1, 10])),
    );
  const input = tf.tensor4d(x, [1, 64, 64, 3]);
  const expectedInput = tf.grad(objective('input'))(input).dataSync() as Float32Array;
  const ours = out[gradientName(onnxInput)].data as Float32Array;
  expect(scaleOf(expectedInput)).toBeGreaterThan(1e-3);
  expect(maxAbsDiff(ours, expectedInput) / scaleOf(expectedInput)).toBeLessThan(1e-4);

  // At relu_2_2's maps (what Grad-CAM weighs): the translation holds them channels-first between
  // its convolutions and turns them at its outputs, so the oracle's are turned to compare.
  const probe = tfl.model({ inputs: model.inputs, outputs: model.getLayer('relu_2_2').output as tfl.SymbolicTensor });
  const maps = probe.predict(input) as tf.Tensor;
  const expectedMaps = tf.transpose(tf.grad(objective('relu_2_2'))(maps), [0, 3, 1, 2]).dataSync() as Float32Array;
  const oursMaps = out[gradientName(relu)].data as Float32Array;
  expect(out[gradientName(relu)].dims).toEqual([1, 10, 26, 26]);
  expect(scaleOf(expectedMaps)).toBeGreaterThan(1e-3);
  expect(maxAbsDiff(oursMaps, expectedMaps) / scaleOf(expectedMaps)).toBeLessThan(1e-4);
});
