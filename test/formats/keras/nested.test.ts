/**
 * Transfer-learning models (Input -> a base model -> head): the base's layers are addressed as
 * `base/inner` (and by their bare name, when unique) and drawn from model.json, .h5 and .keras
 * files (Keras 3 keeps the base's weights at layers/base/layers/<inner>/vars),
 * equal to tfjs computing the base's own layer on the same input.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { decodeImage } from '../../../src/image/decode.js';
import { preprocessUnit } from '../../../src/image/preprocess.js';
import { resizeNearest } from '../../../src/image/resize.js';
import { cnnviz } from '../../helpers/cli.js';
import { maxAbsDiff, scaleOf } from '../../helpers/compare.js';
import { saveKeras3, saveKerasH5, saveTfjs } from '../../helpers/model-files.js';
import { parseNpy } from '../../helpers/npy.js';
import { CAT } from '../../helpers/paths.js';

const tmp = (name: string) => mkdtempSync(join(tmpdir(), `cnnviz-nested-${name}-`));
const sym = (t: unknown) => t as tfl.SymbolicTensor;

/** A small VGG-like base (functional, with its own Sequential block inside) and a classifier head. */
function transferModel(): { model: tfl.LayersModel; base: tfl.LayersModel } {
  tf.setBackend('cpu');
  const block2 = tfl.sequential({
    name: 'block2',
    layers: [
      tfl.layers.conv2d({
        inputShape: [16, 16, 4],
        filters: 6,
        kernelSize: 3,
        padding: 'same',
        activation: 'relu',
        name: 'b2_conv1',
      }),
      tfl.layers.maxPooling2d({ poolSize: 2, name: 'b2_pool' }),
    ],
  });
  const baseInput = tfl.input({ shape: [32, 32, 3], name: 'base_input' });
  let x = sym(
    tfl.layers
      .conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', name: 'b1_conv1' })
      .apply(baseInput),
  );
  x = sym(tfl.layers.maxPooling2d({ poolSize: 2, name: 'b1_pool' }).apply(x));
  x = sym(block2.apply(x));
  const base = tfl.model({ inputs: baseInput, outputs: x, name: 'base' });
  const input = tfl.input({ shape: [32, 32, 3], name: 'image' });
  const features = sym(base.apply(input));
  const out = sym(
    tfl.layers.dense({ units: 3, name: 'head' }).apply(sym(tfl.layers.flatten({ name: 'flat' }).apply(features))),
  );
  return { model: tfl.model({ inputs: input, outputs: out, name: 'transfer' }), base };
}

let files: Record<string, string>;
let expected: Record<string, Float32Array>;

beforeAll(async () => {
  await tf.setBackend('cpu');
  const { model, base } = transferModel();
  files = {
    json: await saveTfjs(model, tmp('json')),
    h5: await saveKerasH5(model, join(tmp('h5'), 'transfer.h5')),
    keras: await saveKeras3(model, join(tmp('keras'), 'transfer.keras')),
  };
  // The oracle: tfjs computing the base's own layers on the input cnnviz feeds ('unit' preprocessing).
  const pixels = preprocessUnit(resizeNearest(await decodeImage(CAT), 32, 32).data);
  const inner = tfl.model({
    inputs: base.inputs,
    outputs: [sym(base.getLayer('b1_conv1').output), sym(base.getLayer('block2').getOutputAt(1))],
  });
  const [conv, block2] = inner.predict(tf.tensor4d(pixels, [1, 32, 32, 3])) as tf.Tensor[];
  expected = { b1_conv1: conv.dataSync() as Float32Array, block2: block2.dataSync() as Float32Array };
});

test('a bare inner name works where it is unique; a name inside a layer that is not a model is refused', async () => {
  const bare = await cnnviz(['featuremaps', CAT, '--model', files.json, '--layer', 'b2_conv1', '-o', tmp('bare')]);
  expect(bare.code).toBe(0);
  expect(bare.stdout).toContain('base/block2/b2_conv1 16x16');
  const notModel = await cnnviz([
    'featuremaps',
    CAT,
    '--model',
    files.json,
    '--layer',
    'flat/b1_conv1',
    '-o',
    tmp('flat'),
  ]);
  expect([notModel.code, notModel.stderr]).toEqual([
    2,
    "cnnviz: 'flat' (Flatten) is not a model, so 'flat/b1_conv1' names nothing inside it\n",
  ]);
});

test('the tfjs engine computes the inner layers too (the flat model built by tfjs-layers)', async () => {
  const out = tmp('wasm');
  const { code } = await cnnviz([
    'featuremaps',
    CAT,
    '--model',
    files.json,
    '--layer',
    'b1_conv1',
    '--backend',
    'wasm',
    '--save-npy',
    '-o',
    out,
  ]);
  expect(code).toBe(0);
  const conv = parseNpy(readFileSync(join(out, 'cat-base_b1_conv1.npy'))).data;
  expect(maxAbsDiff(conv, expected.b1_conv1) / scaleOf(expected.b1_conv1)).toBeLessThan(1e-4);
});

test('summary numbers the inner layers so --layer takes them; the outer layers keep their Keras indices', async () => {
  const { stdout, code } = await cnnviz(['summary', '--model', files.json, '--json']);
  expect(code).toBe(0);
  const rows = JSON.parse(stdout).rows.map((r: { index: number; name: string }) => [r.index, r.name]);
  expect(rows).toEqual([
    [0, 'image'],
    [1, 'base'],
    [4, 'base/base_input'],
    [5, 'base/b1_conv1'],
    [6, 'base/b1_pool'],
    [7, 'base/block2'],
    [8, 'base/block2/b2_conv1'],
    [9, 'base/block2/b2_pool'],
    [2, 'flat'],
    [3, 'head'],
  ]);
});

describe.each([['json'], ['h5'], ['keras']])('a transfer model saved as %s', (kind) => {
  test('inner layers are drawn by outer/inner name, index, and nested model name, equal to tfjs within 1e-4', async () => {
    const out = tmp('out');
    const { code, stderr } = await cnnviz([
      'featuremaps',
      CAT,
      '--model',
      files[kind],
      '--layer',
      'base/b1_conv1',
      '8',
      'base/block2',
      '--save-npy',
      '-o',
      out,
    ]);
    expect([code, stderr.replace(/^cnnviz: preprocessing.*\n/m, '')]).toEqual([0, '']);
    const conv = parseNpy(readFileSync(join(out, 'cat-base_b1_conv1.npy'))).data;
    const block2 = parseNpy(readFileSync(join(out, 'cat-base_block2_b2_conv1.npy'))).data;
    expect(maxAbsDiff(conv, expected.b1_conv1) / scaleOf(expected.b1_conv1)).toBeLessThan(1e-4);
    // b2_conv1 feeds b2_pool, the block's output the oracle computed: compare through a 2x2 max.
    expect(block2.length).toBe(16 * 16 * 6);
    const pooled = new Float32Array(8 * 8 * 6);
    for (let y = 0; y < 8; y++)
      for (let x = 0; x < 8; x++)
        for (let c = 0; c < 6; c++)
          pooled[(y * 8 + x) * 6 + c] = Math.max(
            ...[0, 1].flatMap((dy) => [0, 1].map((dx) => block2[((2 * y + dy) * 16 + 2 * x + dx) * 6 + c])),
          );
    expect(maxAbsDiff(pooled, expected.block2) / scaleOf(expected.block2)).toBeLessThan(1e-4);
    // The nested model's own row is its output.
    const output = parseNpy(readFileSync(join(out, 'cat-base_block2.npy'))).data;
    expect(maxAbsDiff(output, expected.block2) / scaleOf(expected.block2)).toBeLessThan(1e-4);
  });

  test('--blocks looks inside: the stages end at the inner layers', async () => {
    const { code, stdout } = await cnnviz([
      'featuremaps',
      CAT,
      '--model',
      files[kind],
      '--blocks',
      'all',
      '-o',
      tmp('blocks'),
    ]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/base\/b1_conv1 32x32/);
    expect(stdout).toMatch(/base\/block2\/b2_conv1 16x16/);
  });

  test('filters of an inner convolution are its kernel', async () => {
    const { code, stdout } = await cnnviz([
      'filters',
      '--model',
      files[kind],
      '--layer',
      'base/block2/b2_conv1',
      '--channels',
      'all',
      '-o',
      tmp('filters'),
    ]);
    expect(code).toBe(0);
    expect(stdout).toContain('base/block2/b2_conv1 kernel 3x3x4x6');
  });
});
