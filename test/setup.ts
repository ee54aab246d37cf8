// Tests build tfjs models on the cpu backend directly; its first-use banner is noise here.
import * as tf from '@tensorflow/tfjs-core';

tf.env().set('PROD', true);
