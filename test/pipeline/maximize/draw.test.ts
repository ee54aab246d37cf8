/**
 * `cnnviz maximize` on the trained tiny-vgg: each of relu_2_2's 10 channels, optimised 256 steps
 * at 64x64, excites its channel more than any image of the tests' collection does, measured by
 * TensorFlow.js on the 8-bit pictures written (not by cnnviz); the same seed gives the same bytes
 * in any batch; a rerun keeps what it drew; other objectives raise their objective; bad input is
 * one line, exit 2, no file.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { decodeImage } from '../../../src/image/decode.js';
import { preprocessUnit } from '../../../src/image/preprocess.js';
import { resizeNearest } from '../../../src/image/resize.js';
import { cnnviz } from '../../helpers/cli.js';
import { GraphModelWriter } from '../../helpers/graph-model.js';
import { makeImageFolder } from '../../helpers/image-folder.js';
import { loadLayersModelFile } from '../../helpers/model-files.js';
import { CAT, FIXTURES } from '../../helpers/paths.js';

const MODEL = join(FIXTURES, 'models', 'tiny-vgg', 'model.json');
const dir = mkdtempSync(join(tmpdir(), 'cnnviz-maximize-'));

/** Each channel's mean activation at relu_2_2 for an image file, by tfjs-layers. */
async function channelMeans(path: string): Promise<number[]> {
  const model = await loadLayersModelFile(MODEL);
  const probe = tfl.model({ inputs: model.inputs, outputs: model.getLayer('relu_2_2').output as tfl.SymbolicTensor });
  const x = tf.tensor4d(preprocessUnit(resizeNearest(await decodeImage(path), 64, 64).data), [1, 64, 64, 3]);
  return Array.from(tf.mean(probe.predict(x) as tf.Tensor4D, [0, 1, 2]).dataSync());
}

test('every channel of relu_2_2 beats the best real image of the collection (measured by tfjs)', async () => {
  await tf.setBackend('cpu');
  const out = join(dir, 'quality');
  const args = ['maximize', '--model', MODEL, '--layer', 'relu_2_2', '--channels', 'all', '--steps', '256'];
  const { code, stderr } = await cnnviz([...args, '-o', out]);
  expect([code, stderr]).toEqual([0, '']);
  const images = await makeImageFolder(join(dir, 'photos'), CAT);
  const best = Array<number>(10).fill(0);
  for (const image of images) (await channelMeans(image)).forEach((v, k) => (best[k] = Math.max(best[k], v)));
  const record = JSON.parse(readFileSync(join(out, 'relu_2_2', 'maximize.json'), 'utf8'));
  const ratios: string[] = [];
  for (let k = 0; k < 10; k++) {
    const ours = (await channelMeans(join(out, 'relu_2_2', `channel-${String(k).padStart(3, '0')}.png`)))[k];
    ratios.push(`${k}: ${(ours / best[k]).toFixed(2)}x`);
    expect([k, ours > best[k]]).toEqual([k, true]);
    // The record's final score is this same measure, on the same 8-bit picture.
    expect(Math.abs(record.units[k].final - ours)).toBeLessThan(1e-3 * Math.max(1, ours));
  }
  console.log(`relu_2_2, the picture against the best of ${images.length} images: ${ratios.join(', ')}`);
  expect(readdirSync(join(out, 'relu_2_2')).filter((f) => f.endsWith('.png'))).toHaveLength(11); // with overview
});

test('the same seed draws the same bytes, whatever the batch; a rerun keeps what it drew', async () => {
  const run = (out: string, extra: string[]) =>
    cnnviz([
      'maximize',
      '--model',
      MODEL,
      '--layer',
      'conv_2_1',
      '--channels',
      '2-4',
      '--steps',
      '24',
      '--seed',
      '5',
      ...extra,
      '-o',
      join(dir, out),
    ]);
  const [a, b] = [await run('a', ['--batch', '3']), await run('b', ['--batch', '1'])];
  expect([a.code, b.code]).toEqual([0, 0]);
  for (const k of ['002', '003', '004'])
    expect(readFileSync(join(dir, 'a', 'conv_2_1', `channel-${k}.png`))).toEqual(
      readFileSync(join(dir, 'b', 'conv_2_1', `channel-${k}.png`)),
    );
  const picture = join(dir, 'a', 'conv_2_1', 'channel-003.png');
  const time = statSync(picture).mtimeMs;
  const again = await run('a', ['--batch', '3']);
  expect(again.stderr).toBe('cnnviz: 3 of 3 channels already drawn with these settings; kept (--force redraws them)\n');
  expect(statSync(picture).mtimeMs).toBe(time);
  const other = await run('a', ['--seed', '6']);
  expect(other.stderr).toBe('');
  expect(readFileSync(picture)).not.toEqual(readFileSync(join(dir, 'b', 'conv_2_1', 'channel-003.png')));
});

test.each([
  ['neuron', ['--layer', 'relu_1_2', '--channels', '1']],
  ['layer', ['--layer', 'relu_1_2', '--channels', '0']],
  ['class', ['--channels', '5']],
])('the %s objective rises from the start', async (objective, extra) => {
  const out = join(dir, `objective-${objective}`);
  const { code, stdout } = await cnnviz([
    'maximize',
    '--model',
    MODEL,
    '--objective',
    objective,
    ...extra,
    '--steps',
    '40',
    '--json',
    '-o',
    out,
  ]);
  expect(code).toBe(0);
  const [unit] = JSON.parse(stdout).units;
  expect(unit.final).toBeGreaterThan(unit.start);
});

describe('bad input: one line, exit 2, no file', () => {
  test.each([
    [
      'a channel past the layer',
      ['--layer', 'relu_2_2', '--channels', '3-10'],
      /--channels 3-10: relu_2_2 has 10 channels, 0 to 9/,
    ],
    ['a layer without maps', ['--layer', 'flatten'], /layer 'flatten' \(Flatten\) is not a spatial layer/],
    ['--steps 0', ['--layer', 'relu_2_2', '--steps', '0'], /--steps <n>' argument '0' is invalid/],
    ['--lr 0', ['--layer', 'relu_2_2', '--lr', '0'], /--lr <rate>' argument '0' is invalid/],
    ['--lr negative', ['--layer', 'relu_2_2', '--lr=-1'], /--lr <rate>' argument '-1' is invalid/],
    ['no --layer', [], /--layer is needed/],
    [
      '--diversity with the class objective',
      ['--objective', 'class', '--diversity', '2'],
      /--diversity compares maps of a layer/,
    ],
  ])('%s', async (_name, args, message) => {
    const out = join(dir, `bad-${Math.random().toString(16).slice(2)}`);
    const { code, stderr } = await cnnviz(['maximize', '--model', MODEL, ...args, '-o', out]);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(message);
    expect(code).toBe(2);
    expect(existsSync(out) ? readdirSync(out) : []).toEqual([]);
  });

  test('the class objective on a model without a class output', async () => {
    const g = new GraphModelWriter('input', [16, 16, 3]);
    g.node('relu', 'Relu', ['input']);
    const path = g.write(join(dir, 'no-head'));
    const { code, stderr } = await cnnviz(['maximize', '--model', path, '--objective', 'class', '-o', join(dir, 'nh')]);
    expect(stderr).toMatch(/^cnnviz: no-head has no class output/);
    expect(code).toBe(2);
  });

  test('a --size below what the network accepts', async () => {
    const { code, stderr } = await cnnviz([
      'maximize',
      '--layer',
      'block5_conv3',
      '--size',
      '8',
      '--weights',
      'none',
      '-o',
      join(dir, 'small'),
    ]);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(code).toBe(2);
  });
});

test("the diversity penalty's gradient equals finite differences", async () => {
  const { diversityGradients } = await import('../../../src/pipeline/maximize/draw.js');
  const { gaussianNoise, seededRandom } = await import('../../../src/random.js');
  const shape: [number, number, number] = [3, 4, 5];
  const maps = [0, 1, 2].map((k) => gaussianNoise(60, 1, seededRandom(20 + k)).map(Math.abs));
  const { gradients } = diversityGradients(maps, shape);
  for (const [i, p] of [
    [0, 0],
    [1, 17],
    [2, 59],
  ]) {
    const nudged = (h: number) => {
      const copy = maps.map((m) => Float32Array.from(m));
      copy[i][p] += h;
      return diversityGradients(copy, shape).penalty;
    };
    const measured = (nudged(1e-3) - nudged(-1e-3)) / 2e-3;
    expect(Math.abs(measured - gradients[i][p])).toBeLessThan(1e-3 * Math.max(1, Math.abs(measured)));
  }
});

test('--diversity draws a channel several ways, less alike than pictures from two seeds', async () => {
  await tf.setBackend('cpu');
  const model = await loadLayersModelFile(MODEL);
  const probe = tfl.model({ inputs: model.inputs, outputs: model.getLayer('relu_2_2').output as tfl.SymbolicTensor });
  // The cosine similarity of two pictures' Gram matrices at relu_2_2, by tfjs.
  const gram = async (path: string) => {
    const x = tf.tensor4d(preprocessUnit((await decodeImage(path)).data), [1, 64, 64, 3]);
    const f = tf.reshape(probe.predict(x) as tf.Tensor, [-1, 10]);
    const g = tf.matMul(f, f, true, false);
    return tf.div(g, tf.norm(g));
  };
  const similarity = async (a: string, b: string) => tf.sum(tf.mul(await gram(a), await gram(b))).dataSync()[0];
  const base = ['maximize', '--model', MODEL, '--layer', 'relu_2_2', '--channels', '6', '--steps', '96'];
  const diverse = await cnnviz([...base, '--diversity', '2', '-o', join(dir, 'diverse')]);
  const one = await cnnviz([...base, '--seed', '1', '-o', join(dir, 'seed1')]);
  expect([diverse.code, one.code]).toEqual([0, 0]);
  const folder = join(dir, 'diverse', 'relu_2_2');
  expect(readdirSync(folder).sort()).toEqual([
    'channel-006-0.png',
    'channel-006-1.png',
    'maximize.json',
    'overview.png',
  ]);
  const pair = await similarity(join(folder, 'channel-006-0.png'), join(folder, 'channel-006-1.png'));
  const seeds = await similarity(join(folder, 'channel-006-0.png'), join(dir, 'seed1', 'relu_2_2', 'channel-006.png'));
  console.log(`Gram cosine at relu_2_2: diverse pair ${pair.toFixed(3)}, two seeds ${seeds.toFixed(3)}`);
  expect(pair).toBeLessThan(seeds);
  // Each picture still raises its channel.
  const { units } = JSON.parse(readFileSync(join(folder, 'maximize.json'), 'utf8'));
  for (const unit of units) expect(unit.final).toBeGreaterThan(unit.start);
});
