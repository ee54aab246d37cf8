/**
 * sharp in its worker thread: what it decodes and encodes is what sharp gives in this thread,
 * and a worker that never got a request does not keep a failed command alive.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import sharp from 'sharp';
import { PNG } from 'pngjs';
import { ROOT, CAT } from '../helpers/paths.js';
import { cnnviz } from '../helpers/cli.js';

// The built module: beside it lies the compiled worker (the TypeScript sources have none, and run sharp in-thread).
const built = () =>
  import(pathToFileURL(join(ROOT, 'dist', 'image', 'sharp.js')).href) as Promise<
    typeof import('../../src/image/sharp.js')
  >;

test('the worker decodes an image to the pixels sharp gives in this thread', async () => {
  const { sharpCall } = await built();
  const bytes = new Uint8Array(readFileSync(CAT));
  const decoded = await sharpCall('decode', { bytes, maxPixels: 1e8 });
  const { data, info } = await sharp(bytes)
    .toColourspace('srgb')
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  expect([decoded.width, decoded.height, decoded.channels]).toEqual([info.width, info.height, 3]);
  expect(Buffer.from(decoded.data).equals(data)).toBe(true);
});

test('the worker encodes grey and RGB pixels to PNGs that decode to them', async () => {
  const { sharpCall } = await built();
  for (const channels of [1, 3]) {
    const [width, height] = [37, 21];
    const data = Uint8Array.from({ length: width * height * channels }, (_, i) => (i * 7919) % 251);
    const png = PNG.sync.read(Buffer.from(await sharpCall('png', { image: { width, height, channels, data } })));
    expect([png.width, png.height]).toEqual([width, height]);
    const back = Uint8Array.from({ length: width * height * channels }, (_, i) =>
      channels === 1 ? png.data[i * 4] : png.data[Math.floor(i / 3) * 4 + (i % 3)],
    );
    expect(Buffer.from(back).equals(Buffer.from(data))).toBe(true);
  }
});

test("sharp's errors come back with sharp's message", async () => {
  const { sharpCall } = await built();
  await expect(sharpCall('metadata', { bytes: new Uint8Array([1, 2, 3, 4]), maxPixels: 1e8 })).rejects.toThrow(
    /unsupported image format/i,
  );
});

test('a picture command that fails before reading an image exits at once, its worker with it', async () => {
  const started = Date.now();
  const result = await cnnviz([
    'featuremaps',
    join(ROOT, 'no-such-image.jpg'),
    '--weights',
    'none',
    '-o',
    join(ROOT, 'never'),
  ]);
  expect(result.code).toBe(2);
  expect(result.stderr.trim().split('\n')).toHaveLength(1);
  // A worker left referenced would hold the process until the test's own timeout.
  expect(Date.now() - started).toBeLessThan(15_000);
});
