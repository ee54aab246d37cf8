/**
 * Every format gives its forward pass as an ONNX graph the gradient builder differentiates: for a
 * Keras model (the tiny-vgg copy), an ONNX file exported by PyTorch (channels first) and a
 * TensorFlow.js graph model, the gradient of sum(layer * seed) with respect to the input equals
 * central finite differences measured through the model's own engine (the one featuremaps runs),
 * at positions where the function is smooth within the step.
 */
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { openModel } from '../../src/formats/model.js';
import { toChannelsFirst, toChannelsLast } from '../../src/image/layout.js';
import { gradientModel, gradientName, seedName } from '../../src/graph/gradient.js';
import { seededValues } from '../helpers/keras-h5.js';
import { GraphModelWriter, intsAttr, stringAttr } from '../helpers/graph-model.js';
import { FIXTURES } from '../helpers/paths.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';

function graphModel(): string {
  const g = new GraphModelWriter('input', [12, 12, 3]);
  const conv = {
    data_format: stringAttr('NHWC'),
    dilations: intsAttr(1, 1, 1, 1),
    strides: intsAttr(1, 1, 1, 1),
    padding: stringAttr('SAME'),
  };
  const c = g.node('conv', 'Conv2D', ['input', g.constant('w', [3, 3, 3, 4], seededValues(108, 31, 0.5))], conv);
  const r = g.node('relu', 'Relu', [c]);
  const p = g.node('pool', 'MaxPool', [r], {
    ksize: intsAttr(1, 2, 2, 1),
    strides: intsAttr(1, 2, 2, 1),
    padding: stringAttr('VALID'),
    data_format: stringAttr('NHWC'),
  });
  g.node('dw', 'DepthwiseConv2dNative', [p, g.constant('dw/w', [3, 3, 4, 1], seededValues(36, 32, 0.5))], conv);
  return g.write(mkdtempSync(join(tmpdir(), 'cnnviz-fwd-graph-')));
}

test.each([
  ['a Keras layers model (tiny-vgg), relu_2_2', () => join(FIXTURES, 'models', 'tiny-vgg', 'model.json'), 'relu_2_2'],
  [
    'an ONNX file from PyTorch (channels first), layer1',
    () => join(FIXTURES, 'onnx', 'tiny_resnet.onnx'),
    '/layer1/layer1.0/relu_1/Relu',
  ],
  ['a TensorFlow.js graph model, a depthwise conv after a pool', graphModel, 'dw'],
])("%s: the gradient equals finite differences through the model's own engine", async (_name, path, layer) => {
  const model = await openModel(path(), { includeTop: true, readsWeights: true });
  const [h, w, c] = model.net.input as number[];
  const [mh, mw, mc] = model.net.layers.find((l) => l.name === layer)!.mapShape as number[];
  const graph = await (await model.forwardGraph([layer], { weights: 'imagenet' })).build();
  const [target] = graph.tensors;
  expect(['nhwc', 'nchw']).toContain(target.layout);
  const session = await ort.InferenceSession.create(
    gradientModel({ model: graph.model, input: graph.input, target: target.name, wrt: [graph.input.name] }),
  );
  const { forward } = await model.startEngine([layer], { engine: 'onnx', weights: 'imagenet' });
  try {
    const x = Float32Array.from(seededValues(h * w * c, 33, 0.5), (v) => v + 0.5);
    const seed = Float32Array.from(seededValues(mh * mw * mc, 34, 1));
    const nchw = (t: Float32Array, dims: number[], layout: string) =>
      layout === 'nchw' ? toChannelsFirst(t, dims) : t;
    const inputDims = graph.input.layout === 'nchw' ? [1, c, h, w] : [1, h, w, c];
    const seedDims = target.layout === 'nchw' ? [1, mc, mh, mw] : [1, mh, mw, mc];
    const out = await session.run({
      [graph.input.name]: new ort.Tensor('float32', nchw(x, [h, w, c], graph.input.layout), inputDims),
      [seedName(target.name)]: new ort.Tensor('float32', nchw(seed, [mh, mw, mc], target.layout), seedDims),
    });
    const raw = out[gradientName(graph.input.name)].data as Float32Array;
    const gradient = graph.input.layout === 'nchw' ? toChannelsLast(raw, [h, w, c]) : raw;
    const objective = async (input: Float32Array) => {
      const [maps] = await forward.run(input, [1, h, w, c]);
      return maps.reduce((sum, v, i) => sum + v * seed[i], 0);
    };
    const scale = Math.max(...Array.from(gradient, Math.abs));
    expect(scale).toBeGreaterThan(1e-3);
    // Central differences, where the function is smooth: a position whose one-sided slopes
    // disagree sits on a ReLU or max kink within the step, and tells nothing about the gradient.
    const delta = 1e-3;
    const base = await objective(x);
    let checked = 0;
    for (const p of Array.from({ length: 12 }, (_, k) => (k * 104729 + 17) % x.length)) {
      const [up, down] = [Float32Array.from(x), Float32Array.from(x)];
      up[p] += delta;
      down[p] -= delta;
      const [fUp, fDown] = [await objective(up), await objective(down)];
      if (Math.abs((fUp - base) / delta - (base - fDown) / delta) > 1e-2 * scale) continue;
      checked++;
      const measured = (fUp - fDown) / (2 * delta);
      expect([p, Math.abs(measured - gradient[p]) / scale < 1e-2]).toEqual([p, true]);
    }
    expect(checked).toBeGreaterThanOrEqual(8);
  } finally {
    await forward.dispose();
    await session.release();
  }
});
