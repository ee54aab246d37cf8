import { minMax, rescale } from '../../src/render/normalize.js';

test('rescale maps the range onto [0, 1] without touching the input', () => {
  const input = Float32Array.of(-2, 0, 2);
  expect(Array.from(rescale(input, minMax(input)))).toEqual([0, 0.5, 1]);
  expect(Array.from(input)).toEqual([-2, 0, 2]);
});

test('a constant (dead) slice becomes all zeros, never NaN', () => {
  const out = rescale(Float32Array.of(3, 3, 3), [3, 3]);
  expect(Array.from(out)).toEqual([0, 0, 0]);
});

test('a feature-map tile is the map scaled by its range and looked up in the table, dead maps flat', async () => {
  const { mapTile, featureMap, channelRanges } = await import('../../src/render/featuremaps.js');
  const { colorize, colormapLut } = await import('../../src/render/colormap.js');
  // 2x2 map, 3 channels (channels-last); channel 2 is dead (constant).
  const activation = Float32Array.of(0, 5, 7, 1, -5, 7, 2, 0, 7, 3, 5, 7);
  const ranges = channelRanges(activation, 3);
  expect(ranges).toEqual([
    [0, 3],
    [-5, 5],
    [7, 7],
  ]);
  for (const name of ['gray', 'viridis'] as const) {
    const lut = colormapLut(name);
    for (const channel of [0, 1, 2]) {
      const expected = colorize(rescale(featureMap(activation, [2, 2, 3], channel), ranges[channel]), 2, 2, lut);
      expect(mapTile(activation, [2, 2, 3], channel, ranges[channel], lut)).toEqual(expected);
    }
  }
  expect(Array.from(mapTile(activation, [2, 2, 3], 2, ranges[2], colormapLut('gray')).data)).toEqual([0, 0, 0, 0]);
});

test("'layer' normalisation puts every map on the layer's range, so weak maps stay dark", async () => {
  const { featureMapGrid } = await import('../../src/render/featuremaps.js');
  const { colormapLut } = await import('../../src/render/colormap.js');
  // 1x1 maps, 2 channels: a weak (1) and a strong (4) activation.
  const activation = Float32Array.of(0, 0, 1, 4);
  const grid = (normalize: 'map' | 'layer') =>
    featureMapGrid(activation, [2, 1, 2], {
      channels: [0, 1],
      normalize,
      lut: colormapLut('gray'),
      minTile: 1,
      padding: 0,
    });
  expect(Array.from(grid('map').data)).toEqual([0, 0, 255, 255]);
  expect(Array.from(grid('layer').data)).toEqual([0, 0, 64, 255]);
});
