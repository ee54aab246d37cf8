/**
 * Models that take grayscale or RGBA: images are converted as PIL's convert('L') converts them
 * (checked against a picture PIL converted, fixtures/pil), and a 1-channel model's feature maps
 * equal TensorFlow.js' own on that picture; caffe or torch preprocessing on them is refused.
 */
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import sharp from 'sharp';
import { toInputChannels } from '../../src/image/channels.js';
import { decodeImage } from '../../src/image/decode.js';
import { cnnviz } from '../helpers/cli.js';
import { maxAbsDiff } from '../helpers/compare.js';
import { saveTfjs } from '../helpers/model-files.js';
import { parseNpy } from '../helpers/npy.js';
import { FIXTURES } from '../helpers/paths.js';

const CAT64 = join(FIXTURES, 'onnx', 'cat64.png');
const dir = mkdtempSync(join(tmpdir(), 'cnnviz-channels-'));

/** A 3x3 convolution of 4 ReLU'd filters over 64x64 grayscale, its weights from `seed`. */
const grayConv = (seed: number) =>
  tfl.layers.conv2d({
    inputShape: [64, 64, 1],
    filters: 4,
    kernelSize: 3,
    activation: 'relu',
    name: 'conv',
    kernelInitializer: tfl.initializers.glorotUniform({ seed }),
  });

test("grayscale is PIL's convert('L'), pixel for pixel", async () => {
  const rgb = await decodeImage(CAT64);
  const { data } = await sharp(join(FIXTURES, 'pil', 'cat64-L.png'))
    .extractChannel(0)
    .raw()
    .toBuffer({ resolveWithObject: true });
  expect(Array.from(toInputChannels(rgb.data, 1))).toEqual(Array.from(data));
});

test('RGBA is the RGB pixels, opaque', () => {
  expect(Array.from(toInputChannels(Uint8Array.of(1, 2, 3, 250, 251, 252), 4))).toEqual([
    1, 2, 3, 255, 250, 251, 252, 255,
  ]);
});

describe('a model that takes grayscale', () => {
  let path: string;
  let model: tfl.LayersModel;
  beforeAll(async () => {
    await tf.setBackend('cpu');
    model = tfl.sequential({
      layers: [grayConv(3), tfl.layers.maxPooling2d({ poolSize: 2, name: 'pool' })],
    });
    mkdirSync(join(dir, 'gray'));
    path = await saveTfjs(model, join(dir, 'gray'));
  });

  test("draws its maps from the image as PIL's grayscale, equal to tfjs-layers' own, and says so once", async () => {
    const out = join(dir, 'out');
    const { code, stderr } = await cnnviz([
      'featuremaps',
      CAT64,
      '--model',
      path,
      '--layer',
      'conv',
      '--save-npy',
      '-o',
      out,
    ]);
    expect(code).toBe(0);
    expect(stderr.match(/grayscale/g)).toHaveLength(1);
    const { data } = await sharp(join(FIXTURES, 'pil', 'cat64-L.png'))
      .extractChannel(0)
      .raw()
      .toBuffer({ resolveWithObject: true });
    const x = tf.tensor4d(
      Float32Array.from(data, (v) => v / 255),
      [1, 64, 64, 1],
    );
    const expected = (model.layers[0].apply(x) as tf.Tensor).dataSync() as Float32Array;
    const ours = parseNpy(readFileSync(join(out, 'cat64-conv.npy')));
    expect(ours.shape).toEqual([62, 62, 4]);
    expect(maxAbsDiff(ours.data, expected)).toBeLessThan(1e-5);
  });

  test('caffe preprocessing (RGB means) is refused for it in one line', async () => {
    const { code, stderr } = await cnnviz([
      'featuremaps',
      CAT64,
      '--model',
      path,
      '--preprocess',
      'caffe',
      '-o',
      join(dir, 'no'),
    ]);
    expect(code).toBe(2);
    expect(stderr).toMatch(
      /^cnnviz: .* takes 1-channel input; 'caffe' preprocessing is for RGB: give --preprocess unit, tf or none\n$/,
    );
  });
});

test("a grayscale classifier's saliency is tf.grad's on PIL's grayscale, and cam draws over the colour image", async () => {
  await tf.setBackend('cpu');
  const model = tfl.sequential({
    layers: [
      grayConv(4),
      tfl.layers.flatten({ name: 'flat' }),
      tfl.layers.dense({ units: 3, name: 'logits', kernelInitializer: tfl.initializers.glorotUniform({ seed: 5 }) }),
    ],
  });
  mkdirSync(join(dir, 'gray-classifier'));
  const path = await saveTfjs(model, join(dir, 'gray-classifier'));
  const out = join(dir, 'explained');
  const saliency = await cnnviz(['saliency', CAT64, '--model', path, '--class', '1', '--save-npy', '-o', out]);
  expect(saliency.code).toBe(0);
  const { data } = await sharp(join(FIXTURES, 'pil', 'cat64-L.png'))
    .extractChannel(0)
    .raw()
    .toBuffer({ resolveWithObject: true });
  const x = tf.tensor4d(
    Float32Array.from(data, (v) => v / 255),
    [1, 64, 64, 1],
  );
  const logit = (t: tf.Tensor) => tf.sum(tf.slice(model.apply(t) as tf.Tensor, [0, 1], [1, 1]));
  const expected = tf.grad(logit)(x).dataSync() as Float32Array;
  const ours = parseNpy(readFileSync(join(out, 'cat64-saliency-gradient.npy')));
  expect(ours.shape).toEqual([64, 64, 1]);
  expect(maxAbsDiff(ours.data, expected) / Math.max(...expected.map(Math.abs))).toBeLessThan(1e-4);
  const cam = await cnnviz(['cam', CAT64, '--model', path, '-o', out]);
  expect(cam.code).toBe(0);
  expect(cam.stderr).toContain('grayscale');
});
