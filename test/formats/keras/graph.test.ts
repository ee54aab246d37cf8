import { ancestors, graphFromKerasConfig, truncatedConfig } from '../../../src/formats/keras/graph.js';
import { vggConfig } from '../../../src/formats/vgg.js';

const vgg16 = graphFromKerasConfig(vggConfig('vgg16', true));

test('the truncated model keeps only what the requested outputs depend on', () => {
  expect(ancestors(vgg16, ['block1_conv2']).map((l) => l.name)).toEqual(['input_1', 'block1_conv1', 'block1_conv2']);
  const config = truncatedConfig(vgg16, ['block2_conv1', 'block1_conv2']);
  expect(config.config.layers.map((l: { name: string }) => l.name)).toEqual([
    'input_1',
    'block1_conv1',
    'block1_conv2',
    'block1_pool',
    'block2_conv1',
  ]);
  expect(config.config.output_layers).toEqual([
    ['block2_conv1', 0, 0],
    ['block1_conv2', 0, 0],
  ]);
});

test('Keras 3 inbound nodes (keras tensors in args) are read like Keras 2 ones', () => {
  const graph = graphFromKerasConfig({
    class_name: 'Functional',
    config: {
      name: 'k3',
      layers: [
        {
          class_name: 'InputLayer',
          name: 'inp',
          config: { name: 'inp', batch_shape: [null, 8, 8, 3] },
          inbound_nodes: [],
        },
        {
          class_name: 'Conv2D',
          name: 'c',
          config: { name: 'c', filters: 2, kernel_size: [3, 3] },
          inbound_nodes: [
            {
              args: [
                { class_name: '__keras_tensor__', config: { shape: [null, 8, 8, 3], keras_history: ['inp', 0, 0] } },
              ],
              kwargs: {},
            },
          ],
        },
      ],
    },
  });
  expect(graph.layers[1].inbound).toEqual(['inp']);
});
