/**
 * Crops land on the dot: hand-made networks (one convolution whose centre tap weighs double,
 * so that the only position with the dot at its centre wins) over a black image with one
 * white pixel, for each kind of layer that changes the receptive field. The expected boxes
 * are worked by hand from the layer's kernel, stride, dilation and padding.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { cnnviz, readPng } from '../../helpers/cli.js';
import { saveTfjs } from '../../helpers/model-files.js';

const SIZE = 32;
const tmp = (name: string) => mkdtempSync(join(tmpdir(), `cnnviz-crops-${name}-`));

/** A 3x3 kernel over RGB into one filter: 1 everywhere, 2 at the centre. */
const centreWeighted = () =>
  tf.tensor4d(
    Array.from({ length: 27 }, (_, i) => (Math.floor(i / 3) === 4 ? 2 : 1)),
    [3, 3, 3, 1],
  );

type Build = (input: tfl.SymbolicTensor) => tfl.SymbolicTensor;
type ConvArgs = Parameters<typeof tfl.layers.conv2d>[0];
const conv =
  (options: Partial<ConvArgs>): Build =>
  (x) => {
    const layer = tfl.layers.conv2d({ filters: 1, kernelSize: 3, name: 'probe', useBias: false, ...options });
    const y = layer.apply(x) as tfl.SymbolicTensor;
    layer.setWeights([centreWeighted()]);
    return y;
  };

async function dotImage([x, y]: [number, number]): Promise<string> {
  const data = Buffer.alloc(SIZE * SIZE * 3);
  data.fill(255, (y * SIZE + x) * 3, (y * SIZE + x) * 3 + 3);
  const path = join(tmp('image'), `dot-${x}-${y}.png`);
  await sharp(data, { raw: { width: SIZE, height: SIZE, channels: 3 } })
    .png()
    .toFile(path);
  return path;
}

async function examplesOf(
  build: Build,
  dot: [number, number],
): Promise<{ box: number[]; y: number; x: number; tile: string }> {
  await tf.setBackend('cpu');
  const input = tfl.input({ shape: [SIZE, SIZE, 3], name: 'image' });
  const model = tfl.model({ inputs: input, outputs: build(input) });
  const path = await saveTfjs(model, tmp('model'));
  const out = tmp('out');
  const { code, stderr } = await cnnviz([
    'examples',
    await dotImage(dot),
    '--model',
    path,
    '--layer',
    'probe',
    '--top',
    '1',
    '-o',
    out,
  ]);
  expect([code, stderr.replace(/^cnnviz: preprocessing.*\n/m, '')]).toEqual([0, '']);
  const [example] = JSON.parse(readFileSync(join(out, 'probe', 'examples.json'), 'utf8')).channels[0].examples;
  return { ...example, tile: join(out, 'probe', 'channel-000.png') };
}

const centre = ([x0, y0, x1, y1]: number[]) => [(x0 + x1 - 1) / 2, (y0 + y1 - 1) / 2];

test('conv 3x3 valid: position (16, 11) sees columns 11-13 and rows 16-18, the dot at its centre', async () => {
  const found = await examplesOf(conv({ padding: 'valid' }), [12, 17]);
  expect([found.y, found.x, found.box]).toEqual([16, 11, [11, 16, 14, 19]]);
  // The crop, 3 pixels drawn 32 times larger: white in the middle, black at the corners.
  const png = readPng(found.tile);
  const at = (x: number, y: number) => png.data[(y * png.width + x) * 4];
  expect([at(2 + 48, 2 + 48), at(2 + 5, 2 + 5)]).toEqual([255, 0]);
});

test('conv 3x3 stride 2 same: TensorFlow pads the odd pixel at the end, so position (8, 6) is centred on (13, 17)', async () => {
  const found = await examplesOf(conv({ padding: 'same', strides: 2 }), [13, 17]);
  expect([found.y, found.x, found.box]).toEqual([8, 6, [12, 16, 15, 19]]);
});

test('conv 3x3 dilation 2: a 5-pixel span, position (15, 10) centred on the dot', async () => {
  const found = await examplesOf(conv({ padding: 'valid', dilationRate: 2 }), [12, 17]);
  expect([found.y, found.x, found.box]).toEqual([15, 10, [10, 15, 15, 20]]);
  expect(centre(found.box)).toEqual([12, 17]);
});

test('max pool 2x2 after a 1x1 conv: the 2x2 cell holding the dot', async () => {
  const pool: Build = (x) => {
    const layer = tfl.layers.conv2d({ filters: 1, kernelSize: 1, useBias: false, name: 'mix' });
    const y = layer.apply(x) as tfl.SymbolicTensor;
    layer.setWeights([tf.ones([1, 1, 3, 1])]);
    return tfl.layers.maxPooling2d({ poolSize: 2, name: 'probe' }).apply(y) as tfl.SymbolicTensor;
  };
  const found = await examplesOf(pool, [12, 17]);
  expect([found.y, found.x, found.box]).toEqual([8, 6, [12, 16, 14, 18]]);
});

test('zero padding 3 then conv 3x3 valid: fields start 3 pixels early; at the corner the box is clipped to the image', async () => {
  const padded: Build = (x) =>
    conv({ padding: 'valid' })(tfl.layers.zeroPadding2d({ padding: 3, name: 'pad' }).apply(x) as tfl.SymbolicTensor);
  const inside = await examplesOf(padded, [12, 17]);
  expect([inside.y, inside.x, inside.box]).toEqual([19, 14, [11, 16, 14, 19]]);
  const corner = await examplesOf(padded, [0, 0]);
  expect([corner.y, corner.x, corner.box]).toEqual([2, 2, [0, 0, 2, 2]]);
});
