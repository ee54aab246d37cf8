/**
 * A grey PNG's Paeth-filtered rows: the predictor and a small image worked by hand from the PNG
 * specification, and the WebAssembly kernel equal to the JavaScript byte for byte at widths
 * around its 16-pixel vectors, on random pixels and on the extremes (|a + b - 2c| up to 510).
 */
import { paethInJs, paethPredictor, paethScanlines } from '../../src/render/scanlines.js';
import { paethInWasm } from '../../src/render/simd.js';

test('the predictor takes the neighbour nearest a + b - c, ties to a, then b', () => {
  expect(paethPredictor(10, 20, 10)).toBe(20); // p = 20: b exactly
  expect(paethPredictor(20, 10, 10)).toBe(20); // p = 20: a exactly
  expect(paethPredictor(10, 10, 20)).toBe(10); // p = 0: a and b both 10 away, a wins
  expect(paethPredictor(0, 255, 128)).toBe(128); // p = 127: c is 1 away
  expect(paethPredictor(100, 50, 80)).toBe(80); // p = 70: pa 30, pb 20, pc 10
  expect(paethPredictor(50, 100, 50)).toBe(100); // p = 100: b exactly, though c equals a
});

test('a 3x2 image filters as worked by hand: a type byte, then each pixel minus its prediction, modulo 256', () => {
  const image = { width: 3, height: 2, data: Uint8Array.from([10, 20, 30, 40, 35, 200]) };
  // Row 0 has only its left neighbour; row 1: 40 - b(10), 35 - a(40) = -5, 200 - a(35).
  const expected = [4, 10, 10, 10, 4, 30, 251, 165];
  expect(Array.from(paethInJs(image))).toEqual(expected);
  expect(Array.from(paethScanlines(image))).toEqual(expected);
});

/** Bytes from xorshift32: random, or (mode 'extremes') only 0 and 255, which push |a + b - 2c| to 510. */
function pixels(n: number, seed: number, mode: 'random' | 'extremes'): Uint8Array {
  const data = new Uint8Array(n);
  let state = seed;
  for (let i = 0; i < n; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    data[i] = mode === 'random' ? state & 255 : state & 1 ? 255 : 0;
  }
  return data;
}

test.each([
  [1, 5],
  [15, 4],
  [16, 3],
  [17, 9],
  [33, 33],
  [1810, 40],
])('the WebAssembly rows of a %ix%i image equal the JavaScript ones', (width, height) => {
  for (const [seed, mode] of [
    [7, 'random'],
    [11, 'extremes'],
  ] as const) {
    const image = { width, height, data: pixels(width * height, seed + width, mode) };
    expect(Buffer.from(paethInWasm(image)!).equals(Buffer.from(paethInJs(image)))).toBe(true);
  }
});
