/**
 * An InceptionV3 as keras.applications builds it (no top: 21.8 M parameters, 299x299), made
 * with tfjs-layers and saved as a TensorFlow.js layers model, for the bench. Its weights are
 * tfjs-layers' initial ones: the bench times the work, not what the maps show.
 */
import { mkdirSync } from 'node:fs';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { saveTfjs } from '../test/helpers/model-files.js';

const L = tfl.layers;
type T = tfl.SymbolicTensor;
const apply = (layer: tfl.layers.Layer, x: T | T[]) => layer.apply(x) as T;

export async function writeInceptionV3(dir: string): Promise<string> {
  await tf.setBackend('cpu');
  let n = 0;
  const convBn = (x: T, filters: number, kh: number, kw: number, strides = 1, padding: 'same' | 'valid' = 'same') => {
    const id = n++ ? `_${n - 1}` : '';
    const conv = apply(
      L.conv2d({ filters, kernelSize: [kh, kw], strides, padding, useBias: false, name: `conv2d${id}` }),
      x,
    );
    const bn = apply(L.batchNormalization({ axis: 3, scale: false, name: `batch_normalization${id}` }), conv);
    return apply(L.activation({ activation: 'relu', name: `activation${id}` }), bn);
  };
  const concat = (xs: T[], name: string) => apply(L.concatenate({ axis: 3, name }), xs);
  const avgPool = (x: T) => apply(L.averagePooling2d({ poolSize: 3, strides: 1, padding: 'same' }), x);
  const maxPool = (x: T) => apply(L.maxPooling2d({ poolSize: 3, strides: 2 }), x);

  const input = tfl.input({ shape: [299, 299, 3], name: 'input_1' });
  let x = convBn(input, 32, 3, 3, 2, 'valid');
  x = convBn(x, 32, 3, 3, 1, 'valid');
  x = maxPool(convBn(x, 64, 3, 3));
  x = convBn(x, 80, 1, 1, 1, 'valid');
  x = maxPool(convBn(x, 192, 3, 3, 1, 'valid'));
  for (const [i, pool] of [32, 64, 64].entries()) {
    const b5 = convBn(convBn(x, 48, 1, 1), 64, 5, 5);
    const b3 = convBn(convBn(convBn(x, 64, 1, 1), 96, 3, 3), 96, 3, 3);
    x = concat([convBn(x, 64, 1, 1), b5, b3, convBn(avgPool(x), pool, 1, 1)], `mixed${i}`);
  }
  x = concat(
    [convBn(x, 384, 3, 3, 2, 'valid'), convBn(convBn(convBn(x, 64, 1, 1), 96, 3, 3), 96, 3, 3, 2, 'valid'), maxPool(x)],
    'mixed3',
  );
  for (const [i, c] of [128, 160, 160, 192].entries()) {
    const b7 = convBn(convBn(convBn(x, c, 1, 1), c, 1, 7), 192, 7, 1);
    const b7dbl = convBn(convBn(convBn(convBn(convBn(x, c, 1, 1), c, 7, 1), c, 1, 7), c, 7, 1), 192, 1, 7);
    x = concat([convBn(x, 192, 1, 1), b7, b7dbl, convBn(avgPool(x), 192, 1, 1)], `mixed${4 + i}`);
  }
  const b3 = convBn(convBn(x, 192, 1, 1), 320, 3, 3, 2, 'valid');
  const b7x3 = convBn(convBn(convBn(convBn(x, 192, 1, 1), 192, 1, 7), 192, 7, 1), 192, 3, 3, 2, 'valid');
  x = concat([b3, b7x3, maxPool(x)], 'mixed8');
  for (const i of [0, 1]) {
    const b3a = convBn(x, 384, 1, 1);
    const b3 = concat([convBn(b3a, 384, 1, 3), convBn(b3a, 384, 3, 1)], `mixed9_${i}`);
    const dbl = convBn(convBn(x, 448, 1, 1), 384, 3, 3);
    const b3dbl = concat([convBn(dbl, 384, 1, 3), convBn(dbl, 384, 3, 1)], `concatenate${i ? `_${i}` : ''}`);
    x = concat([convBn(x, 320, 1, 1), b3, b3dbl, convBn(avgPool(x), 192, 1, 1)], `mixed${9 + i}`);
  }
  const model = tfl.model({ inputs: input, outputs: x, name: 'inception_v3' });
  mkdirSync(dir, { recursive: true });
  const path = await saveTfjs(model, dir);
  model.dispose();
  return path;
}
