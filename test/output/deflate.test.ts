/**
 * The run-length deflate of PNG scanlines: the module cnnviz embeds is deflate.wat as wabt
 * assembles it; its streams inflate, in zlib, to the bytes given (long runs, runs across blocks,
 * noise in stored blocks, skewed counts whose Huffman codes need limiting, the empty stream);
 * on a real mosaic it comes within a tenth of a percent of zlib's run-length strategy. Code
 * lengths and canonical codes are checked against RFC 1951's own example and hand counts.
 *
 * CNNVIZ_WRITE_WASM=1 writes src/output/deflate-wasm.ts from deflate.wat instead of checking it.
 */
import { join } from 'node:path';
import { constants, deflateSync, inflateSync } from 'node:zlib';
import sharp from 'sharp';
import { ROOT } from '../helpers/paths.js';
import { expectAssembled } from '../helpers/wasm.js';
import { DEFLATE_WASM } from '../../src/output/deflate-wasm.js';
import {
  BLOCK_BYTES,
  canonicalCodes,
  codeLengths,
  deflateRuns,
  lengthRuns,
  greyIdat,
  lengthSymbol,
  paethRows,
} from '../../src/output/deflate.js';
import { paethScanlines } from '../../src/render/scanlines.js';

test('the embedded module is deflate.wat assembled by wabt', () =>
  expectAssembled('output/deflate.wat', 'DEFLATE_WASM', DEFLATE_WASM));

/** xorshift32 bytes, each from `pick` of a uniform draw in [0, 1). */
function bytes(length: number, seed: number, pick: (u: number) => number = (u) => Math.floor(u * 256)): Uint8Array {
  let state = seed || 1;
  return Uint8Array.from({ length }, () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return pick((state >>> 0) / 2 ** 32);
  });
}

/** The stream deflateRuns makes of `data` (WebAssembly runs under Node.js 20, so never undefined here). */
function stream(data: Uint8Array): Buffer {
  const out = deflateRuns(data);
  if (!out) throw new Error('the WebAssembly deflate did not run');
  return out;
}

/** Mostly zeros, with runs of other values and short repeats: Paeth-filtered flat regions. */
function runsAndLiterals(length: number, seed: number): Uint8Array {
  const data = bytes(length, seed, (u) => (u < 0.6 ? 0 : Math.floor(u * 7)));
  for (let at = 100; at + 700 < length; at += 5000) data.fill(200, at, at + 700);
  return data;
}

test.each([
  ['the empty stream', new Uint8Array(0)],
  ['one byte', Uint8Array.of(7)],
  ['two equal bytes', Uint8Array.of(9, 9)],
  ['a run from the second byte', new Uint8Array(1000).fill(3)],
  ['runs and literals over three blocks', runsAndLiterals(BLOCK_BYTES * 2 + 12345, 5)],
  ['noise (stored blocks) over two blocks', bytes(BLOCK_BYTES + 70000, 11)],
  ['one run across a block boundary', new Uint8Array(BLOCK_BYTES + 5000).fill(255)],
])('%s inflates, in zlib, to itself', (_, data) => {
  const out = stream(data);
  expect(inflateSync(out).equals(Buffer.from(data))).toBe(true);
});

test('a run across a block boundary is coded in a few bytes, not as literals', () => {
  // 1 MB and 5 KB of one value: runs of 258 bytes at 21 bits or less each, about 11 KB in all.
  const out = stream(new Uint8Array(BLOCK_BYTES + 5000).fill(255));
  expect(out.length).toBeLessThan(12000);
});

test('noise comes out in stored blocks: at most 5 bytes in 65535 larger, with the zlib header and Adler-32', () => {
  const data = bytes(200000, 13);
  const out = stream(data);
  expect(out.length).toBeLessThanOrEqual(data.length + 5 * Math.ceil(data.length / 65535) + 6);
  expect(inflateSync(out).equals(Buffer.from(data))).toBe(true);
});

test('the zlib header and the Adler-32 are what zlib writes for the same bytes', () => {
  const data = runsAndLiterals(70000, 3);
  const ours = stream(data);
  const zlibs = deflateSync(data, { level: 1 });
  expect(ours.subarray(0, 2)).toEqual(Buffer.from([0x78, 0x01]));
  // The checksum of the bytes, not of the coding: zlib's last four bytes.
  expect(ours.subarray(-4)).toEqual(zlibs.subarray(-4));
});

/** Counts 1, 1, 2, 4, ... 2^18: each the sum of all before it, so an optimal code is a chain 19 bits deep. */
const doubling = (): number[] => [1, ...Array.from({ length: 19 }, (_, k) => 2 ** k)];

test('literals with doubling counts (an optimal code 19 bits deep) inflate: the codes were limited to 15 bits', () => {
  // No byte the same as the one before it, so that every one is a literal: the most common
  // symbol takes every other byte.
  const left = doubling();
  const total = left.reduce((sum, count) => sum + count, 0);
  const data: number[] = [];
  for (let last = -1; data.length < total;) {
    let pick = -1;
    for (let s = 0; s < left.length; s++) if (s !== last && left[s] > 0 && (pick < 0 || left[s] > left[pick])) pick = s;
    data.push(pick);
    left[pick]--;
    last = pick;
  }
  expect(data.every((b, i) => i === 0 || b !== data[i - 1])).toBe(true);
  const literals = Uint8Array.from(data);
  expect(inflateSync(stream(literals)).equals(Buffer.from(literals))).toBe(true);
});

test('a real mosaic (VGG16 block1 of the cat, Paeth-filtered) comes within 0.2% of zlib run-length, and inflates to itself', async () => {
  const { data, info } = await sharp(join(ROOT, 'docs', 'images', 'vgg16-none-block1_conv2.png'))
    .extractChannel(0)
    .raw()
    .toBuffer({ resolveWithObject: true });
  const rows = paethScanlines({ width: info.width, height: info.height, data });
  const ours = stream(rows);
  const zlibs = deflateSync(rows, { strategy: constants.Z_RLE, memLevel: 9 });
  expect(inflateSync(ours).equals(Buffer.from(rows))).toBe(true);
  expect(Math.abs(ours.length / zlibs.length - 1)).toBeLessThan(0.002);
});

/** Bytes from xorshift32: random, or (mode 'extremes') only 0 and 255, which push |a + b - 2c| to 510. */
function pixels(n: number, seed: number, mode: 'random' | 'extremes'): Uint8Array {
  return bytes(n, seed, (u) => (mode === 'random' ? Math.floor(u * 256) : u < 0.5 ? 255 : 0));
}

test.each([
  [1, 5],
  [15, 4],
  [16, 3],
  [17, 9],
  [33, 33],
  [1810, 40],
])('the WebAssembly Paeth rows of a %ix%i image equal the JavaScript ones', (width, height) => {
  for (const [seed, mode] of [
    [7, 'random'],
    [11, 'extremes'],
  ] as const) {
    const image = { width, height, data: pixels(width * height, seed + width, mode) };
    expect(Buffer.from(paethRows(image)!).equals(Buffer.from(paethScanlines(image)))).toBe(true);
  }
});

test("a grey image's IDAT inflates, in zlib, to its rows as filtered in JavaScript, after a larger image has used the memory", () => {
  // The larger image first: the smaller one's zero row and rows must not read what it left.
  const large = { width: 300, height: 200, data: pixels(300 * 200, 3, 'random') };
  const small = { width: 37, height: 5, data: pixels(37 * 5, 5, 'extremes') };
  for (const image of [large, small])
    expect(inflateSync(greyIdat(image)!).equals(Buffer.from(paethScanlines(image)))).toBe(true);
});

/** Kraft's sum of code lengths: 1 for a complete prefix code. */
const kraft = (lengths: Uint8Array): number => lengths.reduce((sum, bits) => sum + (bits > 0 ? 2 ** -bits : 0), 0);

test('code lengths of a hand-built Huffman code: counts 1, 1, 2, 4 take 3, 3, 2, 1 bits', () => {
  expect(Array.from(codeLengths([1, 1, 2, 4], 15))).toEqual([3, 3, 2, 1]);
  expect(Array.from(codeLengths([0, 5, 0, 5], 15))).toEqual([0, 1, 0, 1]);
});

test('one counted symbol, or none, still gets a complete code of two one-bit codes', () => {
  expect(Array.from(codeLengths([0, 0, 9], 7))).toEqual([1, 0, 1]);
  expect(Array.from(codeLengths([4, 0, 0], 7))).toEqual([1, 1, 0]);
  expect(Array.from(codeLengths([0, 0, 0], 7))).toEqual([1, 1, 0]);
});

test.each([15, 7])('doubling counts, 19 bits deep unlimited, fit %i bits in a complete code', (maxBits) => {
  const counts = doubling();
  const lengths = codeLengths(counts, maxBits);
  expect(Math.max(...lengths)).toBe(maxBits);
  expect(kraft(lengths)).toBe(1);
  // More frequent symbols never get longer codes.
  for (let s = 1; s < counts.length; s++) expect(lengths[s]).toBeLessThanOrEqual(lengths[s - 1]);
});

test('doubling counts with room to spare keep their optimal chain: 19 bits deep under a 20-bit limit', () => {
  expect(Array.from(codeLengths(doubling(), 20))).toEqual([19, 19, ...Array.from({ length: 18 }, (_, k) => 18 - k)]);
});

test("canonical codes: RFC 1951's example (lengths 3, 3, 3, 3, 3, 2, 4, 4), bit-reversed as deflate sends them", () => {
  const codes = canonicalCodes(Uint8Array.of(3, 3, 3, 3, 3, 2, 4, 4));
  const written = ['010', '011', '100', '101', '110', '00', '1110', '1111'];
  const reversed = written.map((bits) => parseInt([...bits].reverse().join(''), 2));
  expect(Array.from(codes)).toEqual(reversed);
});

test('run lengths take the symbols of RFC 1951, 3.2.5', () => {
  expect([3, 10, 11, 12, 13, 18, 19, 34, 35, 130, 131, 257, 258].map(lengthSymbol)).toEqual([
    257, 264, 265, 265, 266, 268, 269, 272, 273, 280, 281, 284, 285,
  ]);
});

test('code lengths are sent as runs: 16 repeats the last length, 17 and 18 count zeros', () => {
  expect(lengthRuns([8, 8, 8, 8, 8, 8, 8, 8, 0, 0, 0, 0, 5, 0, 0])).toEqual([
    [8, 0],
    [16, 3], // 6 more eights
    [8, 0],
    [17, 1], // 4 zeros
    [5, 0],
    [0, 0],
    [0, 0],
  ]);
  expect(lengthRuns(new Array<number>(150).fill(0))).toEqual([
    [18, 127], // 138 zeros
    [18, 1], // the other 12
  ]);
});
