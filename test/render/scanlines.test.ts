/**
 * A grey PNG's Paeth-filtered rows: the predictor and a small image worked by hand from the PNG
 * specification (test/output/deflate.test.ts holds the WebAssembly filter to these rows).
 */
import { paethPredictor, paethScanlines } from '../../src/render/scanlines.js';

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
  expect(Array.from(paethScanlines(image))).toEqual(expected);
});
