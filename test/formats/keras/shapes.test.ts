import { graphFromKerasConfig } from '../../../src/formats/keras/graph.js';
import { convOutputLength, inferShapes, isKerasConvolution } from '../../../src/formats/keras/shapes.js';
import { summarize } from '../../../src/net/summary.js';
import { kerasNet } from '../../../src/formats/keras/net.js';
import { vggConfig } from '../../../src/formats/vgg.js';

const summaryOf = (name: 'vgg16' | 'vgg19', top: boolean) =>
  summarize(kerasNet(graphFromKerasConfig(vggConfig(name, top))));

test('VGG16 has the parameter counts Keras reports, with and without the top', () => {
  expect(summaryOf('vgg16', true).totalParams).toBe(138_357_544);
  expect(summaryOf('vgg16', false).totalParams).toBe(14_714_688);
  expect(summaryOf('vgg16', true).nonTrainableParams).toBe(0);
});

test('VGG19 has the parameter counts Keras reports, with and without the top', () => {
  expect(summaryOf('vgg19', true).totalParams).toBe(143_667_240);
  expect(summaryOf('vgg19', false).totalParams).toBe(20_024_384);
});

test('VGG16 convolutions sit at the Keras layer indices the tutorial uses', () => {
  const graph = graphFromKerasConfig(vggConfig('vgg16', true));
  expect(graph.layers.filter(isKerasConvolution).map((l) => l.index)).toEqual([
    1, 2, 4, 5, 7, 8, 9, 11, 12, 13, 15, 16, 17,
  ]);
  expect(graph.layers[0].className).toBe('InputLayer');
  expect(graph.layers[1].name).toBe('block1_conv1');
});

test('VGG16 output shapes follow the blocks: 224, 112, 56, 28, 14, 7', () => {
  const shapes = inferShapes(graphFromKerasConfig(vggConfig('vgg16', true)));
  const byName = new Map(shapes.map((s) => [s.layer.name, s.outputShape]));
  expect(byName.get('block1_conv1')).toEqual([null, 224, 224, 64]);
  expect(byName.get('block3_conv3')).toEqual([null, 56, 56, 256]);
  expect(byName.get('block5_pool')).toEqual([null, 7, 7, 512]);
  expect(byName.get('flatten')).toEqual([null, 25088]);
  expect(byName.get('predictions')).toEqual([null, 1000]);
});

test('conv output length follows Keras for same and valid padding, strides and dilation', () => {
  expect(convOutputLength(224, 3, 1, 'same')).toBe(224);
  expect(convOutputLength(64, 3, 1, 'valid')).toBe(62);
  expect(convOutputLength(7, 2, 2, 'valid')).toBe(3);
  expect(convOutputLength(7, 2, 2, 'same')).toBe(4);
  expect(convOutputLength(10, 3, 1, 'valid', 2)).toBe(6);
  expect(convOutputLength(null, 3, 1, 'same')).toBeNull();
});

test('a layer class cnnviz does not know is shown as unknown, not guessed', () => {
  const graph = graphFromKerasConfig({
    class_name: 'Sequential',
    config: {
      name: 's',
      layers: [
        { class_name: 'Dense', config: { name: 'd', units: 4, batch_input_shape: [null, 3] } },
        { class_name: 'FancyLayer', config: { name: 'f' } },
      ],
    },
  });
  const summary = summarize(kerasNet(graph));
  expect(summary.totalParams).toBe(16);
  expect(summary.unknownLayers).toEqual(['f']);
  expect(summary.rows[1].outputShape).toBe('?');
});
