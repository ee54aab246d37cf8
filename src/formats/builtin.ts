/**
 * The built-in models: their architecture, where Keras keeps their ImageNet weights, and how
 * their input is prepared. One table keyed by name, so adding a model is adding a row.
 */
import type { KerasModelConfig } from './keras/graph.js';
import { vggConfig } from './vgg.js';
import type { PreprocessMode } from '../image/preprocess.js';
import type { KerasApplicationWeights } from '../weights/resolve.js';

export { DEFAULT_WEIGHTS_BASE_URL, type WeightsFile } from '../weights/resolve.js';

export interface BuiltinModel extends KerasApplicationWeights {
  name: string;
  architecture(includeTop: boolean): KerasModelConfig;
  preprocess: PreprocessMode;
}

export const BUILTIN_MODELS: Record<string, BuiltinModel> = {
  vgg16: {
    name: 'vgg16',
    architecture: (includeTop) => vggConfig('vgg16', includeTop),
    weightsFolder: 'vgg16',
    weights: {
      top: {
        fileName: 'vgg16_weights_tf_dim_ordering_tf_kernels.h5',
        md5: '64373286793e3c8b2b4e3219cbf3544b',
        bytes: 553467096,
      },
      notop: {
        fileName: 'vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5',
        md5: '6d6bbae143d832006294945121d1f1fc',
        bytes: 58889256,
      },
    },
    preprocess: 'caffe',
  },
  vgg19: {
    name: 'vgg19',
    architecture: (includeTop) => vggConfig('vgg19', includeTop),
    weightsFolder: 'vgg19',
    weights: {
      top: {
        fileName: 'vgg19_weights_tf_dim_ordering_tf_kernels.h5',
        md5: 'cbe5617147190e668d6c5d5026f83318',
        bytes: 574710816,
      },
      notop: {
        fileName: 'vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5',
        md5: '253f8cb515780f3b799900260a226db6',
        bytes: 80134624,
      },
    },
    preprocess: 'caffe',
  },
};
