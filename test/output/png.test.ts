/**
 * Grey PNGs encoded by cnnviz: they decode, in libvips and in pngjs (which checks every chunk's
 * CRC), to the pixels given; they are 8-bit grey; real feature-map mosaics come out smaller than
 * libvips makes them at the zlib level 3 cnnviz used before; colour pictures still go to libvips.
 */
import { join } from 'node:path';
import sharp from 'sharp';
import { PNG } from 'pngjs';
import { ROOT } from '../helpers/paths.js';
import { encodeGreyPng, zlibIdat } from '../../src/output/png.js';
import { greyIdat } from '../../src/output/deflate.js';
import { paethScanlines } from '../../src/render/scanlines.js';
import { inflateSync } from 'node:zlib';
import { encodePng } from '../../src/output/files.js';
import type { PixelImage } from '../../src/render/mosaic.js';

/** The grey mosaics drawn for the README (stored as RGB with equal channels): their first channel. */
async function mosaic(name: string): Promise<PixelImage> {
  const { data, info } = await sharp(join(ROOT, 'docs', 'images', name))
    .extractChannel(0)
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, channels: 1, data: new Uint8Array(data) };
}

/** A grey PNG's pixels as libvips decodes them (its raw output would widen grey to sRGB). */
const libvipsPixels = (png: Buffer): Promise<Buffer> => sharp(png).extractChannel(0).raw().toBuffer();

function noise(width: number, height: number, seed: number): PixelImage {
  let state = seed;
  const data = Uint8Array.from({ length: width * height }, () => {
    state = (state * 1103515245 + 12345) >>> 0;
    return state >>> 24;
  });
  return { width, height, channels: 1, data };
}

const MOSAICS = ['vgg16-none-block1_conv2.png', 'vgg16-none-block5_conv3.png', 'vgg16-none-block5-top16.png'];

test.each([
  ['a 1x1 image', noise(1, 1, 3)],
  ['noise of 17x3', noise(17, 3, 5)],
  ['noise of 300x211', noise(300, 211, 9)],
])('%s decodes, in libvips and in pngjs, to its pixels', async (_, image) => {
  const png = await encodeGreyPng(image);
  const decoded = PNG.sync.read(png, { skipRescale: true });
  expect([decoded.width, decoded.height, decoded.depth, decoded.colorType]).toEqual([image.width, image.height, 8, 0]);
  // pngjs hands back RGBA: the grey level in each of R, G and B.
  expect(Buffer.from(Uint8Array.from({ length: image.width * image.height }, (_, i) => decoded.data[i * 4]))).toEqual(
    Buffer.from(image.data),
  );
  expect((await sharp(png).metadata()).channels).toBe(1);
  expect((await libvipsPixels(png)).equals(Buffer.from(image.data))).toBe(true);
});

test('pngjs checks the CRCs it is trusted with above: a flipped bit in the IDAT CRC is refused', async () => {
  const png = await encodeGreyPng(noise(9, 9, 21));
  expect(() => PNG.sync.read(png)).not.toThrow();
  // The IDAT chunk's CRC: the four bytes before IEND's (length 0, 'IEND', its CRC) at the end.
  png[png.length - 12 - 1] ^= 1;
  // Only the CRC changed, so the refusal is the CRC check's (pngjs stops there, and its sync
  // reader then reports the bytes left unread).
  expect(() => PNG.sync.read(png)).toThrow();
});

test.each(MOSAICS)(
  'the mosaic %s decodes to its pixels, in a smaller file than libvips makes at zlib level 3',
  async (name) => {
    const image = await mosaic(name);
    const png = await encodeGreyPng(image);
    expect((await libvipsPixels(png)).equals(Buffer.from(image.data))).toBe(true);
    const libvips = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 1 } })
      .toColourspace('b-w')
      .png({ compressionLevel: 3 })
      .toBuffer();
    expect(png.length).toBeLessThan(libvips.length);
  },
);

test('a grey picture is encoded here, a colour one by libvips: both decode to their pixels', async () => {
  const grey = noise(40, 30, 17);
  expect((await encodePng(grey)).equals(await encodeGreyPng(grey))).toBe(true);
  const colour: PixelImage = { width: 20, height: 30, channels: 3, data: noise(60, 30, 19).data };
  const decoded = PNG.sync.read(await encodePng(colour));
  expect(decoded.colorType).toBe(2);
  expect(
    Buffer.from(Uint8Array.from({ length: 20 * 30 * 3 }, (_, i) => decoded.data[Math.floor(i / 3) * 4 + (i % 3)])),
  ).toEqual(Buffer.from(colour.data));
});

test.each(MOSAICS)(
  "the mosaic %s's image data, from WebAssembly and from zlib (the fallback without it), inflates to the same rows, within 0.2% of each other's size",
  async (name) => {
    const image = await mosaic(name);
    const rows = Buffer.from(paethScanlines(image));
    const ours = greyIdat(image)!;
    const zlibs = await zlibIdat(image);
    expect(inflateSync(ours).equals(rows)).toBe(true);
    expect(inflateSync(zlibs).equals(rows)).toBe(true);
    expect(Math.abs(ours.length / zlibs.length - 1)).toBeLessThan(0.002);
  },
);
