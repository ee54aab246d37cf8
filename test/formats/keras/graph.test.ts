import { ancestors, blockOutputs, closestName, findLayer, graphFromKerasConfig, truncatedConfig } from '../../../src/formats/keras/graph.js';
import { vggConfig } from '../../../src/formats/vgg.js';

const vgg16 = graphFromKerasConfig(vggConfig('vgg16', true));

test('a layer is found by name or by its Keras index', () => {
  expect(findLayer(vgg16, 'block3_conv1').index).toBe(7);
  expect(findLayer(vgg16, '17').name).toBe('block5_conv3');
});

test('an unknown layer name suggests the closest one and lists the valid names', () => {
  expect(() => findLayer(vgg16, 'block1_cnv1')).toThrow(/no layer 'block1_cnv1' in vgg16\. Did you mean 'block1_conv1'\?.*1:block1_conv1/);
  expect(closestName('zzzzzzzzzzzz', ['block1_conv1'])).toBeUndefined();
});

test('a layer outside the allowed kind is named with its class and the layers that would work', () => {
  const convs = vgg16.layers.filter((l) => l.className === 'Conv2D');
  expect(() => findLayer(vgg16, 'block1_pool', convs, 'convolutional layer')).toThrow(
    /'block1_pool' \(MaxPooling2D\) is not a convolutional layer.*2:block1_conv2/,
  );
});

test('blocks end at the layer feeding each pooling layer: VGG16 indices 2, 5, 9, 13, 17', () => {
  expect(blockOutputs(vgg16).map((l) => [l.index, l.name])).toEqual([
    [2, 'block1_conv2'],
    [5, 'block2_conv2'],
    [9, 'block3_conv3'],
    [13, 'block4_conv3'],
    [17, 'block5_conv3'],
  ]);
});

test('the truncated model keeps only what the requested outputs depend on', () => {
  expect(ancestors(vgg16, ['block1_conv2']).map((l) => l.name)).toEqual(['input_1', 'block1_conv1', 'block1_conv2']);
  const config = truncatedConfig(vgg16, ['block2_conv1', 'block1_conv2']);
  expect(config.config.layers.map((l: { name: string }) => l.name)).toEqual(['input_1', 'block1_conv1', 'block1_conv2', 'block1_pool', 'block2_conv1']);
  expect(config.config.output_layers).toEqual([['block2_conv1', 0, 0], ['block1_conv2', 0, 0]]);
});

test('Keras 3 inbound nodes (keras tensors in args) are read like Keras 2 ones', () => {
  const graph = graphFromKerasConfig({
    class_name: 'Functional',
    config: {
      name: 'k3',
      layers: [
        { class_name: 'InputLayer', name: 'inp', config: { name: 'inp', batch_shape: [null, 8, 8, 3] }, inbound_nodes: [] },
        {
          class_name: 'Conv2D',
          name: 'c',
          config: { name: 'c', filters: 2, kernel_size: [3, 3] },
          inbound_nodes: [{ args: [{ class_name: '__keras_tensor__', config: { shape: [null, 8, 8, 3], keras_history: ['inp', 0, 0] } }], kwargs: {} }],
        },
      ],
    },
  });
  expect(graph.layers[1].inbound).toEqual(['inp']);
});
