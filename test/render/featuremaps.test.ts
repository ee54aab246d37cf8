/**
 * The feature-map mosaic written in place, row by row, is the mosaic of its tiles made one by
 * one (mapTile, each map on its own, and makeMosaic, torchvision's layout): at every scale,
 * grey and colour, with channels chosen out of order and a dead map among them.
 */
import { mapMosaic, mapTile, channelRanges, channelStats } from '../../src/render/featuremaps.js';
import { makeMosaic } from '../../src/render/mosaic.js';
import { colormapLut } from '../../src/render/colormap.js';
import { seededValues } from '../helpers/keras-h5.js';

const [H, W, C] = [5, 7, 6];
const activation = Float32Array.from(seededValues(H * W * C, 3, 2));
// Channel 4 dead: one value everywhere.
for (let i = 0; i < H * W; i++) activation[i * C + 4] = 0.25;
const ranges = channelRanges(activation, C);
const chosen = [5, 0, 4, 2, 3];

test.each([
  ['gray', 1],
  ['gray', 3],
  ['viridis', 1],
  ['viridis', 2],
] as const)('%s at scale %i: the mosaic equals its tiles laid out one by one', (colormap, scale) => {
  const lut = colormapLut(colormap);
  const layout = { scale, padding: 2 };
  const expected = makeMosaic(
    chosen.map((c) => mapTile(activation, [H, W, C], c, ranges[c], lut)),
    layout,
  );
  const ours = mapMosaic(
    activation,
    [H, W, C],
    chosen.map((c) => ranges[c]),
    chosen,
    lut,
    layout,
  );
  expect([ours.width, ours.height, ours.channels]).toEqual([expected.width, expected.height, expected.channels]);
  expect(Buffer.from(ours.data).equals(Buffer.from(expected.data))).toBe(true);
});

test('channel statistics over many chunks of pixels equal a plain per-channel count, non-finite values set apart', () => {
  const [pixels, channels] = [1000, 3]; // several of channelStats' 256-pixel chunks, the last one partial
  const values = Float32Array.from(seededValues(pixels * channels, 7, 5));
  values[5 * channels + 1] = NaN;
  values[700 * channels + 1] = Infinity;
  values[999 * channels + 2] = -Infinity;
  const stats = channelStats(values, channels);
  for (let c = 0; c < channels; c++) {
    const finite = Array.from({ length: pixels }, (_, p) => values[p * channels + c]).filter(Number.isFinite);
    expect(stats.min[c]).toBe(Math.fround(finite.reduce((a, b) => Math.min(a, b))));
    expect(stats.max[c]).toBe(Math.fround(finite.reduce((a, b) => Math.max(a, b))));
    expect(stats.mean[c]).toBeCloseTo(finite.reduce((a, b) => a + b, 0) / finite.length, 6);
    expect(stats.nonFinite[c]).toBe(pixels - finite.length);
  }
  expect(Array.from(stats.nonFinite)).toEqual([0, 2, 1]);
});
