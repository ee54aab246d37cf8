/**
 * VGG16 and VGG19 as `keras.applications` defines them, written as the Keras model config
 * that `model.to_json()` gives, so that built-in and user models go through one loader.
 */
import type { KerasModelConfig } from './keras/graph.js';

export type VggName = 'vgg16' | 'vgg19';

/** Filters and conv layers per block. */
const BLOCKS: Record<VggName, Array<[filters: number, convs: number]>> = {
  vgg16: [
    [64, 2],
    [128, 2],
    [256, 3],
    [512, 3],
    [512, 3],
  ],
  vgg19: [
    [64, 2],
    [128, 2],
    [256, 4],
    [512, 4],
    [512, 4],
  ],
};

type KerasLayer = { class_name: string; config: Record<string, unknown>; name: string; inbound_nodes: unknown[] };

function layer(className: string, config: Record<string, unknown>, inbound?: string): KerasLayer {
  const name = config.name as string;
  return {
    class_name: className,
    config: { trainable: true, dtype: 'float32', ...config },
    name,
    inbound_nodes: inbound === undefined ? [] : [[[inbound, 0, 0, {}]]],
  };
}

const GLOROT = { class_name: 'GlorotUniform', config: { seed: null } };
const ZEROS = { class_name: 'Zeros', config: {} };

export function vggConfig(name: VggName, includeTop: boolean): KerasModelConfig {
  const layers: KerasLayer[] = [
    layer('InputLayer', { name: 'input_1', batch_input_shape: [null, 224, 224, 3], sparse: false }),
  ];
  const add = (className: string, config: Record<string, unknown>): void => {
    layers.push(layer(className, config, layers[layers.length - 1].name));
  };
  BLOCKS[name].forEach(([filters, convs], b) => {
    for (let c = 1; c <= convs; c++) {
      add('Conv2D', {
        name: `block${b + 1}_conv${c}`,
        filters,
        kernel_size: [3, 3],
        strides: [1, 1],
        padding: 'same',
        data_format: 'channels_last',
        dilation_rate: [1, 1],
        activation: 'relu',
        use_bias: true,
        kernel_initializer: GLOROT,
        bias_initializer: ZEROS,
      });
    }
    add('MaxPooling2D', {
      name: `block${b + 1}_pool`,
      pool_size: [2, 2],
      strides: [2, 2],
      padding: 'valid',
      data_format: 'channels_last',
    });
  });
  if (includeTop) {
    add('Flatten', { name: 'flatten', data_format: 'channels_last' });
    for (const [units, activation, layerName] of [
      [4096, 'relu', 'fc1'],
      [4096, 'relu', 'fc2'],
      [1000, 'softmax', 'predictions'],
    ] as const) {
      add('Dense', {
        name: layerName,
        units,
        activation,
        use_bias: true,
        kernel_initializer: GLOROT,
        bias_initializer: ZEROS,
      });
    }
  }
  const last = layers[layers.length - 1].name;
  return {
    class_name: 'Functional',
    config: { name, layers, input_layers: [['input_1', 0, 0]], output_layers: [[last, 0, 0]] },
  };
}
