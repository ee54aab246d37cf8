import { minMax, normalizeSlices, rescale } from '../../src/render/normalize.js';

test('rescale maps the range onto [0, 1] without touching the input', () => {
  const input = Float32Array.of(-2, 0, 2);
  expect(Array.from(rescale(input, minMax(input)))).toEqual([0, 0.5, 1]);
  expect(Array.from(input)).toEqual([-2, 0, 2]);
});

test('a constant (dead) slice becomes all zeros, never NaN', () => {
  const out = rescale(Float32Array.of(3, 3, 3), [3, 3]);
  expect(Array.from(out)).toEqual([0, 0, 0]);
});

test('each: every slice uses its own range; together: one range for all', () => {
  const weak = Float32Array.of(0, 1);
  const strong = Float32Array.of(0, 4);
  expect(normalizeSlices([weak, strong], 'each').map((s) => Array.from(s))).toEqual([[0, 1], [0, 1]]);
  expect(normalizeSlices([weak, strong], 'together').map((s) => Array.from(s))).toEqual([[0, 0.25], [0, 1]]);
});
