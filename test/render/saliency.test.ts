/** The saliency picture's arithmetic: magnitude over channels, the 99th-percentile clip, any size. */
import { clippedSaliency, gradientMagnitude, quantile } from '../../src/render/saliency.js';

test('|g| is the largest magnitude over the channels', () => {
  expect(Array.from(gradientMagnitude(Float32Array.of(1, -3, 2, 0.5, 0, -0.25), 3))).toEqual([3, 0.5]);
});

test('the map is divided by its 99th percentile (nearest rank) and clipped to 1', () => {
  const plane = Float32Array.from({ length: 101 }, (_, i) => i);
  expect(quantile(plane, 0.99)).toBe(99);
  const map = clippedSaliency(plane);
  expect([map[0], map[99], map[100]]).toEqual([0, 1, 1]);
  expect(map[33]).toBeCloseTo(33 / 99, 6);
});

test('a zero gradient of a megapixel input is a black map, not a stack overflow', () => {
  expect(clippedSaliency(new Float32Array(1024 * 1024)).every((v) => v === 0)).toBe(true);
});
