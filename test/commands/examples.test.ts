/**
 * `cnnviz examples` from the command line, on the shared tiny-vgg over a folder of images the
 * tests make: the lists equal tfjs' own activations ranked by hand, boxes equal the field
 * worked out by hand (relu_2_2 sees 14x14 input pixels, 2 apart, from 0), three shards and a
 * merge give the single run's files byte for byte, an interrupted run continues to the same
 * result, broken images are skipped and bad input is one line.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { decodeImage } from '../../src/image/decode.js';
import { preprocessUnit } from '../../src/image/preprocess.js';
import { resizeNearest } from '../../src/image/resize.js';
import { cnnviz, readPng, startCnnviz } from '../helpers/cli.js';
import { makeImageFolder, picturesOf } from '../helpers/image-folder.js';
import { CAT, TINY_VGG, withTinyVgg } from '../helpers/paths.js';
import { loadLayersModelFile } from '../helpers/model-files.js';

const tmp = (name: string) => mkdtempSync(join(tmpdir(), `cnnviz-examples-${name}-`));
const tinyTest = withTinyVgg();
let photos: string;
let paths: string[];

beforeAll(async () => {
  photos = tmp('photos');
  paths = await makeImageFolder(photos, CAT);
});

tinyTest(
  "tiny-vgg relu_2_2: each channel's top images and peaks equal tfjs' activations ranked by hand; boxes are the field",
  async () => {
    const out = tmp('out');
    const { code, stdout } = await cnnviz([
      'examples',
      photos,
      '--model',
      TINY_VGG,
      '--layer',
      'relu_2_2',
      '--top',
      '4',
      '-o',
      out,
    ]);
    expect(code).toBe(0);
    expect(stdout).toContain('relu_2_2: 10 channels, a row each, 4 examples from 17 images');
    const json = JSON.parse(readFileSync(join(out, 'relu_2_2', 'examples.json'), 'utf8'));
    expect([json.model, json.layer, json.score, json.images, json.channels.length]).toEqual([
      'sequential',
      'relu_2_2',
      'max',
      17,
      10,
    ]);

    // The oracle: tfjs-layers running the shared model on each image, max and argmax taken here.
    await tf.setBackend('cpu');
    const model = await loadLayersModelFile(TINY_VGG);
    const probe = tfl.model({ inputs: model.inputs, outputs: model.getLayer('relu_2_2').output as tfl.SymbolicTensor });
    const scored = await Promise.all(
      paths.map(async (path) => {
        const image = await decodeImage(path);
        const maps = (
          probe.predict(tf.tensor4d(preprocessUnit(resizeNearest(image, 64, 64).data), [1, 64, 64, 3])) as tf.Tensor
        ).dataSync();
        return { path, size: [image.width, image.height], maps };
      }),
    );
    for (let c = 0; c < 10; c++) {
      const ranked = scored
        .map(({ path, size, maps }) => {
          let best = 0;
          for (let p = 1; p < 26 * 26; p++) if (maps[p * 10 + c] > maps[best * 10 + c]) best = p;
          return { path, size, score: maps[best * 10 + c], y: Math.floor(best / 26), x: best % 26 };
        })
        .sort((a, b) => b.score - a.score || (a.path < b.path ? -1 : 1))
        .slice(0, 4);
      const ours = json.channels[c].examples;
      expect([c, ours.map((e: { image: string }) => e.image)]).toEqual([c, ranked.map((r) => r.path)]);
      ours.forEach((e: { score: number; y: number; x: number; box: number[] }, i: number) => {
        const r = ranked[i];
        expect(Math.abs(e.score - r.score)).toBeLessThan(1e-4 * Math.max(1, r.score));
        expect([e.y, e.x]).toEqual([r.y, r.x]);
        // Two valid 3x3 convs, a 2x2 pool, two more: 14 pixels wide, 2 apart, from 0, at 64x64; then to the image's size.
        const [w, h] = r.size;
        expect(e.box).toEqual([
          Math.floor((2 * r.x * w) / 64),
          Math.floor((2 * r.y * h) / 64),
          Math.ceil(((2 * r.x + 14) * w) / 64),
          Math.ceil(((2 * r.y + 14) * h) / 64),
        ]);
      });
    }
    // A row of 4 tiles of 96 pixels per channel, 2 pixels between and around; the overview at 48.
    const channel = readPng(join(out, 'relu_2_2', 'channel-000.png'));
    expect([channel.width, channel.height]).toEqual([4 * 98 + 2, 100]);
    const overview = readPng(join(out, 'relu_2_2', 'overview.png'));
    expect([overview.width, overview.height]).toEqual([4 * 50 + 2, 10 * 50 + 2]);
  },
);

tinyTest('three --shard runs as separate processes and a --merge give the single run byte for byte', async () => {
  const args = ['examples', photos, '--model', TINY_VGG, '--layer', 'relu_2_2', '--context', '--top', '5'];
  const single = tmp('single');
  const shards = tmp('shards');
  const runs = await Promise.all([
    cnnviz([...args, '-o', single]),
    ...[0, 1, 2].map((i) => cnnviz([...args, '--shard', `${i}/3`, '-o', join(shards, `shard-${i}`)])),
  ]);
  expect(runs.map((r) => r.code)).toEqual([0, 0, 0, 0]);
  // A shard leaves its state and tiles, no pictures.
  expect(readdirSync(join(shards, 'shard-1', 'relu_2_2')).sort()).toEqual(['sources', 'state.json']);
  const merged = tmp('merged');
  const merge = await cnnviz([
    'examples',
    '--merge',
    ...[2, 0, 1].map((i) => join(shards, `shard-${i}`)),
    '-o',
    merged,
  ]);
  expect(merge.code).toBe(0);
  const expected = picturesOf(join(single, 'relu_2_2'));
  expect(Object.keys(expected)).toHaveLength(12);
  expect(picturesOf(join(merged, 'relu_2_2'))).toEqual(expected);
});

test('an interrupted run continues where its saved state stopped and ends as an uninterrupted run', async () => {
  // VGG16 with seeded weights: slow enough per image to interrupt part way.
  const args = [
    'examples',
    photos,
    '--weights',
    'none',
    '--layer',
    'block3_conv1',
    '--channels',
    '0-7',
    '--top',
    '3',
    '--save-every',
    '1',
  ];
  const full = tmp('full');
  const uninterrupted = await cnnviz([...args, '-o', full]);
  expect(uninterrupted.code).toBe(0);
  // Seeded weights are said, as in every picture of an untrained network.
  expect(uninterrupted.stderr).toContain('; the examples show an untrained network');
  const out = tmp('resumed');
  const { child, result } = startCnnviz([...args, '-o', out]);
  const state = join(out, 'block3_conv1', 'state.json');
  const saved = () => (existsSync(state) ? JSON.parse(readFileSync(state, 'utf8')).done : 0);
  while (saved() < 3) await new Promise((r) => setTimeout(r, 20));
  child.kill('SIGINT');
  const interrupted = await result;
  expect(interrupted.code).toBe(130);
  const done = saved();
  expect(done).toBeLessThan(17);
  const rerun = await cnnviz([...args, '-o', out]);
  expect(rerun.code).toBe(0);
  expect(rerun.stderr).toMatch(new RegExp(`continuing after ${done} of 17 images`));
  expect(picturesOf(join(out, 'block3_conv1'))).toEqual(picturesOf(join(full, 'block3_conv1')));
}, 60_000);

tinyTest('a broken image is skipped and listed; the rest are scored, and the run exits 1', async () => {
  const folder = tmp('broken');
  for (const path of paths.slice(0, 4)) writeFileSync(join(folder, basename(path)), readFileSync(path));
  writeFileSync(join(folder, 'broken.png'), 'not a png');
  const out = tmp('broken-out');
  const { code, stderr } = await cnnviz(['examples', folder, '--model', TINY_VGG, '--layer', 'relu_2_2', '-o', out]);
  expect(code).toBe(1);
  expect(stderr).toMatch(/skipping .*broken\.png/);
  expect(stderr.trim().split('\n').pop()).toBe(
    `cnnviz: 1 of 5 images failed (${join(folder, 'broken.png')}); the others were scored`,
  );
  expect(JSON.parse(readFileSync(join(out, 'relu_2_2', 'examples.json'), 'utf8')).images).toBe(4);
});

tinyTest('a folder of images none of which reads: one line, exit 1, no picture drawn', async () => {
  const folder = tmp('unreadable');
  writeFileSync(join(folder, 'a.png'), 'not a png');
  writeFileSync(join(folder, 'b.jpg'), 'nor a jpeg');
  const out = tmp('unreadable-out');
  const { code, stderr } = await cnnviz(['examples', folder, '--model', TINY_VGG, '--layer', 'relu_2_2', '-o', out]);
  expect(code).toBe(1);
  expect(stderr.trim().split('\n').pop()).toBe(
    `cnnviz: none of the 2 images could be read (${join(folder, 'a.png')}, ${join(folder, 'b.jpg')}); no pictures drawn`,
  );
  expect(readdirSync(join(out, 'relu_2_2'))).toEqual(['state.json']);
});

describe('bad input: one line, exit 2, no file', () => {
  const refused = async (args: string[], message: string | RegExp) => {
    const out = join(tmp('bad'), 'out');
    const { code, stderr } = await cnnviz([...args, '-o', out]);
    expect(code).toBe(2);
    expect(stderr.split('\n').filter(Boolean)).toHaveLength(1);
    expect(stderr).toMatch(message);
    expect(existsSync(out)).toBe(false);
  };
  tinyTest('a layer without maps', () =>
    refused(
      ['examples', photos, '--model', TINY_VGG, '--layer', 'flatten'],
      /'flatten'.*not a spatial layer|no spatial layer 'flatten'/,
    ),
  );
  test('one image named that does not exist', () =>
    refused(
      ['examples', 'missing.jpg', '--weights', 'none', '--layer', 'block1_conv1'],
      "cnnviz: image 'missing.jpg' does not exist\n",
    ));
  tinyTest('--top 0', () =>
    refused(
      ['examples', photos, '--model', TINY_VGG, '--layer', 'relu_2_2', '--top', '0'],
      /--top.*expected a whole number of 1 or more/,
    ),
  );
  tinyTest('--tile 100000', () =>
    refused(
      ['examples', photos, '--model', TINY_VGG, '--layer', 'relu_2_2', '--tile', '100000'],
      /--tile <px>' argument '100000' is invalid\. expected a whole number from 8 to 1024, got '100000'/,
    ),
  );
  tinyTest('--channels past the layer', () =>
    refused(
      ['examples', photos, '--model', TINY_VGG, '--layer', 'relu_2_2', '--channels', '5-12'],
      'cnnviz: --channels 5-12: the layer has 10 channels, 0 to 9\n',
    ),
  );
  tinyTest('a shard index out of range', () =>
    refused(
      ['examples', photos, '--model', TINY_VGG, '--layer', 'relu_2_2', '--shard', '3/3'],
      'cnnviz: --shard 3/3: the shard index runs from 0 to 2\n',
    ),
  );
  tinyTest('a merge of shards of different layers, or with one missing', async () => {
    const shards = tmp('mixed');
    const base = ['examples', photos, '--model', TINY_VGG];
    await cnnviz([...base, '--layer', 'relu_2_2', '--shard', '0/2', '-o', join(shards, 'a')]);
    await cnnviz([...base, '--layer', 'relu_2_1', '--shard', '1/2', '-o', join(shards, 'b')]);
    await refused(
      ['examples', '--merge', join(shards, 'a'), join(shards, 'b')],
      `cnnviz: the shards differ in layer: "relu_2_2" in '${join(shards, 'a', 'relu_2_2')}', "relu_2_1" in '${join(shards, 'b', 'relu_2_1')}'\n`,
    );
    await refused(['examples', '--merge', join(shards, 'a')], 'cnnviz: shard 1/2 missing from the merge\n');
  });
});
