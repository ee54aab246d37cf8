/**
 * cnnviz infers shapes and counts without building; tfjs builds. Both must agree on a model
 * that uses every layer class the shape rules know.
 */
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { graphFromKerasConfig } from '../../../src/formats/keras/graph.js';
import { inferShapes } from '../../../src/formats/keras/shapes.js';
import { kerasNet } from '../../../src/formats/keras/net.js';
import { summarize } from '../../../src/net/summary.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function mixedModel(dataFormat: 'channelsLast' | 'channelsFirst'): tfl.LayersModel {
  const shape = dataFormat === 'channelsLast' ? [33, 31, 3] : [3, 33, 31];
  const axis = dataFormat === 'channelsLast' ? -1 : 1;
  const input = tfl.input({ shape, name: 'in' });
  const df = { dataFormat };
  let x = tfl.layers
    .zeroPadding2d({
      padding: [
        [1, 2],
        [3, 0],
      ],
      ...df,
      name: 'pad',
    })
    .apply(input) as tfl.SymbolicTensor;
  x = tfl.layers
    .conv2d({ filters: 8, kernelSize: [3, 5], strides: 2, padding: 'valid', ...df, name: 'conv_a' })
    .apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.batchNormalization({ axis, name: 'bn' }).apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.activation({ activation: 'relu', name: 'relu' }).apply(x) as tfl.SymbolicTensor;
  const a = tfl.layers
    .depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, padding: 'same', ...df, name: 'dw' })
    .apply(x) as tfl.SymbolicTensor;
  const b = tfl.layers
    .separableConv2d({ filters: 16, kernelSize: 3, padding: 'same', ...df, name: 'sep' })
    .apply(x) as tfl.SymbolicTensor;
  const sum = tfl.layers.add({ name: 'add' }).apply([a, b]) as tfl.SymbolicTensor;
  const cat = tfl.layers.concatenate({ axis, name: 'cat' }).apply([sum, x]) as tfl.SymbolicTensor;
  const pooled = tfl.layers
    .maxPooling2d({ poolSize: 3, strides: 2, padding: 'same', ...df, name: 'pool' })
    .apply(cat) as tfl.SymbolicTensor;
  const avg = tfl.layers.averagePooling2d({ poolSize: 2, ...df, name: 'avg' }).apply(pooled) as tfl.SymbolicTensor;
  const crop = tfl.layers
    .cropping2D({
      cropping: [
        [1, 0],
        [0, 1],
      ],
      dataFormat,
      name: 'crop',
    })
    .apply(avg) as tfl.SymbolicTensor;
  const gap = tfl.layers.globalAveragePooling2d({ ...df, name: 'gap' }).apply(crop) as tfl.SymbolicTensor;
  const flat = tfl.layers.flatten({ name: 'flat' }).apply(pooled) as tfl.SymbolicTensor;
  const d1 = tfl.layers
    .dense({ units: 5, name: 'dense' })
    .apply(tfl.layers.concatenate({ name: 'cat2' }).apply([flat, gap]) as tfl.SymbolicTensor) as tfl.SymbolicTensor;
  const out = tfl.layers.dropout({ rate: 0.5, name: 'drop' }).apply(d1) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: out, name: 'mixed' });
}

test.each(['channelsLast', 'channelsFirst'] as const)('shape rules agree with tfjs on every layer (%s)', (format) => {
  const model = mixedModel(format);
  const config = model.toJSON(null, false) as never;
  const shapes = inferShapes(graphFromKerasConfig(config));
  for (const s of shapes) {
    const layer = model.getLayer(s.layer.name);
    expect([s.layer.name, s.outputShape]).toEqual([s.layer.name, layer.outputShape]);
    expect([s.layer.name, s.weights!.map((w) => w.shape)]).toEqual([s.layer.name, layer.weights.map((w) => w.shape)]);
  }
  const summary = summarize(kerasNet(graphFromKerasConfig(config)));
  expect(summary.totalParams).toBe(model.countParams());
  expect(summary.nonTrainableParams).toBe(
    model.nonTrainableWeights.reduce((n, w) => n + (w.shape as number[]).reduce((a, b) => a * b, 1), 0),
  );
  model.dispose();
});

test('a nested model counts all its weights and is shown with its inner layers', () => {
  const inner = tfl.sequential({
    name: 'features',
    layers: [
      tfl.layers.conv2d({ inputShape: [16, 16, 3], filters: 4, kernelSize: 3, name: 'inner_conv' }),
      tfl.layers.maxPooling2d({ poolSize: 2, name: 'inner_pool' }),
    ],
  });
  const input = tfl.input({ shape: [16, 16, 3], name: 'image' });
  const features = inner.apply(input) as tfl.SymbolicTensor;
  const flat = tfl.layers.flatten({ name: 'flat' }).apply(features) as tfl.SymbolicTensor;
  const out = tfl.layers.dense({ units: 2, name: 'head' }).apply(flat) as tfl.SymbolicTensor;
  const model = tfl.model({ inputs: input, outputs: out, name: 'outer' });
  const summary = summarize(kerasNet(graphFromKerasConfig(model.toJSON(null, false) as never)));
  expect(summary.totalParams).toBe(model.countParams());
  expect(summary.rows.map((r) => [r.index, r.depth, r.name, r.outputShape])).toEqual([
    [0, 0, 'image', '(None, 16, 16, 3)'],
    [1, 0, 'features', '(None, 7, 7, 4)'],
    // Inner layers: numbered after the outer model's four, named as --layer takes them.
    [4, 1, 'features/inner_conv', '(None, 14, 14, 4)'],
    [5, 1, 'features/inner_pool', '(None, 7, 7, 4)'],
    [2, 0, 'flat', '(None, 196)'],
    [3, 0, 'head', '(None, 2)'],
  ]);
  expect(summary.unknownLayers).toEqual([]);
  model.dispose();
});
