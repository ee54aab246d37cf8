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

test('a feature-map tile is the map scaled by its range and looked up in the table, dead maps flat', async () => {
  const { mapTile, featureMap, channelRanges } = await import('../../src/render/featuremaps.js');
  const { colorize, colormapLut } = await import('../../src/render/colormap.js');
  // 2x2 map, 3 channels (channels-last); channel 2 is dead (constant).
  const activation = Float32Array.of(0, 5, 7, 1, -5, 7, 2, 0, 7, 3, 5, 7);
  const ranges = channelRanges(activation, 3);
  expect(ranges).toEqual([[0, 3], [-5, 5], [7, 7]]);
  for (const name of ['gray', 'viridis'] as const) {
    const lut = colormapLut(name);
    for (const channel of [0, 1, 2]) {
      const expected = colorize(rescale(featureMap(activation, [2, 2, 3], channel), ranges[channel]), 2, 2, lut);
      expect(mapTile(activation, [2, 2, 3], channel, ranges[channel], lut)).toEqual(expected);
    }
  }
  expect(Array.from(mapTile(activation, [2, 2, 3], 2, ranges[2], colormapLut('gray')).data)).toEqual([0, 0, 0, 0]);
});
