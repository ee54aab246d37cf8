/** Many images: folders, a folder each, skipping what exists, and bad files that do not stop the batch. */
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cnnviz } from '../helpers/cli.js';
import { CAT, FIXTURES, TINY_VGG, withTinyVgg } from '../helpers/paths.js';

const run = withTinyVgg();
const tmp = (prefix: string) => mkdtempSync(join(tmpdir(), `cnnviz-${prefix}-`));

run(
  'a folder of images, one bad among them: the others are drawn, each in its folder, and the run says what failed',
  async () => {
    const photos = tmp('photos');
    mkdirSync(join(photos, 'more'));
    copyFileSync(CAT, join(photos, 'a.jpg'));
    copyFileSync(CAT, join(photos, 'more', 'b.jpg'));
    writeFileSync(join(photos, 'broken.png'), 'not a png');
    writeFileSync(join(photos, 'notes.txt'), 'not an image, and not named like one');
    const out = tmp('out');
    const args = ['featuremaps', photos, '--model', TINY_VGG, '--blocks', 'all', '-o', out];
    const first = await cnnviz(args);
    expect(first.code).toBe(1);
    expect(first.stderr).toContain(`skipping ${join(photos, 'broken.png')}`);
    expect(first.stderr.trim().split('\n').pop()).toBe(
      `cnnviz: 1 of 3 images failed (${join(photos, 'broken.png')}); the others were drawn`,
    );
    expect(readdirSync(out).sort()).toEqual(['a', 'b']);
    // .cnnviz.json: the options the pictures were drawn with, so a rerun knows whether to redraw.
    expect(readdirSync(join(out, 'a')).sort()).toEqual(['.cnnviz.json', 'relu_1_2.png', 'relu_2_2.png']);
    expect(first.stdout.trim().split('\n')).toHaveLength(4);

    const stamp = statSync(join(out, 'a', 'relu_1_2.png')).mtimeMs;
    const again = await cnnviz(args);
    expect(again.stderr).toContain('2 of 3 images already have their pictures; skipped (--force redoes them)');
    expect(statSync(join(out, 'a', 'relu_1_2.png')).mtimeMs).toBe(stamp);
    const forced = await cnnviz([...args, '--force', '--json']);
    expect(JSON.parse(forced.stdout).files).toHaveLength(4);
    expect(statSync(join(out, 'a', 'relu_1_2.png')).mtimeMs).toBeGreaterThan(stamp);
  },
);

run('unreadable images are skipped and reported in the order given, though their checks run at once', async () => {
  const photos = tmp('order');
  // The first the slowest to refuse (2 MB that only start like a JPEG), the others at once.
  const slow = join(photos, 'slow.jpg');
  writeFileSync(slow, Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(2_000_000, 7)]));
  const empty = join(photos, 'empty.jpg');
  writeFileSync(empty, '');
  const text = join(photos, 'text.png');
  writeFileSync(text, 'not a png');
  const good = join(photos, 'good.jpg');
  copyFileSync(CAT, good);
  const out = tmp('out');
  const { code, stderr } = await cnnviz(['featuremaps', slow, empty, good, text, '--model', TINY_VGG, '-o', out]);
  expect(code).toBe(1);
  const skipped = stderr.split('\n').flatMap((line) => /^cnnviz: skipping (\S+):/.exec(line)?.[1] ?? []);
  expect(skipped).toEqual([slow, empty, text]);
  expect(stderr.trim().split('\n').pop()).toBe(
    `cnnviz: 3 of 4 images failed (${slow}, ${empty}, ${text}); the others were drawn`,
  );
});

run('--top labels the strongest maps and --overlay writes the heat map over the input', async () => {
  const out = tmp('out');
  const { code, stdout } = await cnnviz([
    'featuremaps',
    CAT,
    '--model',
    TINY_VGG,
    '--layer',
    'relu_1_2',
    '--top',
    '4',
    '--overlay',
    '--channel',
    '3',
    '-o',
    out,
  ]);
  expect(code).toBe(0);
  expect(stdout).toContain('relu_1_2 60x60: the 4 most active of 10 maps');
  expect(stdout).toContain('cat-relu_1_2-overlay.png');
  expect(stdout).toContain('relu_1_2 channel 3 over the 64x64 input, alpha 0.5');
});

test('--channel without --overlay, or past the layer, is a usage error', async () => {
  expect((await cnnviz(['featuremaps', CAT, '--channel', '2', '--weights', 'none'])).stderr).toContain(
    '--channel goes with --overlay',
  );
  const past = await cnnviz([
    'featuremaps',
    CAT,
    '--overlay',
    '--channel',
    '64',
    '--weights',
    'none',
    '-o',
    tmp('out'),
  ]);
  expect([past.code, past.stderr.trim()]).toEqual([2, 'cnnviz: --channel 64: a chosen layer has only 64 channels']);
});

const MODEL = join(FIXTURES, 'onnx', 'tiny_resnet.onnx');

test('colliding names (a.jpg, a.png, x/a.jpg, y/a.jpg) each get their own folder; nothing is drawn over', async () => {
  const photos = tmp('collide');
  for (const dir of ['x', 'y']) mkdirSync(join(photos, dir));
  for (const file of ['a.jpg', 'x/a.jpg', 'y/a.jpg']) copyFileSync(CAT, join(photos, file));
  copyFileSync(join(FIXTURES, 'onnx', 'cat64.png'), join(photos, 'a.png'));
  const out = tmp('out');
  const { code } = await cnnviz(['featuremaps', photos, '--model', MODEL, '--layer', '/relu/Relu', '-o', out]);
  expect(code).toBe(0);
  expect(readdirSync(out).sort()).toEqual(['a-jpg', 'a-png', 'x_a-jpg', 'y_a-jpg']);
});

test('a batch rerun with options that change the pictures redraws them; with the same options it skips', async () => {
  const photos = tmp('restamp');
  copyFileSync(CAT, join(photos, 'a.jpg'));
  copyFileSync(CAT, join(photos, 'b.jpg'));
  const out = tmp('out');
  const args = ['featuremaps', photos, '--model', MODEL, '--layer', '/relu/Relu', '-o', out];
  await cnnviz(args);
  const drawn = readFileSync(join(out, 'a', 'relu_Relu.png'));
  const same = await cnnviz(args);
  expect(same.stderr).toContain('2 of 2 images already have their pictures; skipped');
  const viridis = await cnnviz([...args, '--colormap', 'viridis']);
  expect(viridis.stderr).not.toContain('skipped');
  expect(readFileSync(join(out, 'a', 'relu_Relu.png')).equals(drawn)).toBe(false);
});

test('a folder search lists what sharp can decode (no .bmp) and follows links to image files', async () => {
  const photos = tmp('links');
  const elsewhere = tmp('elsewhere');
  copyFileSync(CAT, join(elsewhere, 'real.jpg'));
  symlinkSync(join(elsewhere, 'real.jpg'), join(photos, 'linked.jpg'));
  symlinkSync(join(elsewhere, 'gone.jpg'), join(photos, 'dangling.jpg'));
  writeFileSync(join(photos, 'old.bmp'), 'BM');
  const out = tmp('out');
  const { code, stdout, stderr } = await cnnviz([
    'featuremaps',
    photos,
    '--model',
    MODEL,
    '--layer',
    '/relu/Relu',
    '-o',
    out,
  ]);
  expect([code, stderr.includes('old.bmp'), stderr.includes('dangling')]).toEqual([0, false, false]);
  expect(stdout).toContain(join(out, 'linked-relu_Relu.png'));
});

/**
 * Five images in batches of 3 and 2 (the last short), the two batches' passes side by side in
 * two lanes of one thread each: each image's maps (.npy) and pictures (.png) equal the ones
 * it gets alone (one pass of two threads). On tiny-vgg a batch's activations (60x60x10 maps,
 * 432 KB for three images) are large enough to be freed once the batch is painted, so a batch
 * freed too early would show here as missing maps.
 */
async function batchedEqualsAlone(model: string, blocks: string): Promise<void> {
  const photos = tmp('batched');
  const images = ['cat64.png', 'cat64-flop.png', 'cat64-grey.png', 'cat64-small.png', 'cat64-crop.png'];
  const sharp = (await import('sharp')).default;
  const source = join(FIXTURES, 'onnx', 'cat64.png');
  copyFileSync(source, join(photos, images[0]));
  await sharp(source).flop().toFile(join(photos, images[1]));
  await sharp(source).greyscale().toFile(join(photos, images[2]));
  await sharp(source).resize(40, 40).toFile(join(photos, images[3]));
  await sharp(source).extract({ left: 8, top: 8, width: 48, height: 48 }).toFile(join(photos, images[4]));
  const args = ['featuremaps', photos, '--model', model, '--blocks', blocks, '--save-npy'];
  const batched = tmp('batched-out');
  const threads = { CNNVIZ_THREADS: '2' };
  const inLanes = await cnnviz([...args, '--batch-size', '3', '-o', batched, '--verbose'], threads);
  expect(inLanes.code).toBe(0);
  expect(inLanes.stderr).toContain('forward passes in 2 lanes (worker threads) of 1 thread(s) each');
  for (const image of images) {
    const alone = tmp('alone');
    expect((await cnnviz(['featuremaps', join(photos, image), ...args.slice(2), '-o', alone], threads)).code).toBe(0);
    const stem = image.replace('.png', '');
    const files = readdirSync(alone).filter((f) => f.endsWith('.npy') || f.endsWith('.png'));
    expect(files).toHaveLength(2 * blocks.split(',').length);
    for (const file of files) {
      const layer = file.slice(stem.length + 1);
      const a = readFileSync(join(alone, file));
      const b = readFileSync(join(batched, stem, layer));
      expect([image, layer, a.equals(b)]).toEqual([image, layer, true]);
    }
  }
}

test('--batch-size 3 over 5 images in two lanes gives each image the maps it gets alone (tiny ResNet)', async () => {
  await batchedEqualsAlone(join(FIXTURES, 'onnx', 'tiny_resnet.onnx'), '1,3');
});

run('--batch-size 3 over 5 images in two lanes gives each image the maps it gets alone (tiny-vgg)', async () => {
  await batchedEqualsAlone(TINY_VGG, '1,2');
});

test('forward lanes: one per batch, no more than the threads nor four, the threads shared out; one batch or one thread runs in this thread', async () => {
  const photos = tmp('lanes');
  for (const name of ['a', 'b', 'c', 'd', 'e', 'f'])
    copyFileSync(join(FIXTURES, 'onnx', 'cat64.png'), join(photos, `${name}.png`));
  const lanesLine = async (paths: string[], threads: string) => {
    const args = ['featuremaps', ...paths, '--model', join(FIXTURES, 'onnx', 'tiny_resnet.onnx'), '--blocks', '1'];
    const { code, stderr } = await cnnviz([...args, '-o', tmp('lanes-out'), '--verbose'], { CNNVIZ_THREADS: threads });
    expect(code).toBe(0);
    return /forward passes in .*/.exec(stderr)?.[0];
  };
  expect(await lanesLine([photos], '8')).toBe('forward passes in 4 lanes (worker threads) of 2 thread(s) each');
  expect(await lanesLine([join(photos, 'a.png'), join(photos, 'b.png'), join(photos, 'c.png')], '7')).toBe(
    'forward passes in 3 lanes (worker threads) of 2 thread(s) each',
  );
  expect(await lanesLine([join(photos, 'a.png')], '8')).toBeUndefined();
  expect(await lanesLine([photos], '1')).toBeUndefined();
});
