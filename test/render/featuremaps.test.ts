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

test.each([
  // Three channels: each on its own; seven: four at a time, then three on their own (the
  // WebAssembly kernel; simd.test.ts holds the JavaScript one to it).
  [3, [1, 2], [0, 2, 1]],
  [7, [1, 5], [0, 2, 0, 0, 0, 1, 0]],
])(
  'channel statistics over many chunks of pixels (%i channels) equal a plain per-channel count, non-finite values set apart',
  (channels, [nanChannel, infChannel], nonFinite) => {
    const pixels = 1000; // several of channelStats' 256-pixel chunks, the last one partial
    const values = Float32Array.from(seededValues(pixels * channels, 7, 5));
    values[5 * channels + nanChannel] = NaN;
    values[700 * channels + nanChannel] = Infinity;
    values[999 * channels + infChannel] = -Infinity;
    const stats = channelStats(values, channels);
    for (let c = 0; c < channels; c++) {
      const finite = Array.from({ length: pixels }, (_, p) => values[p * channels + c]).filter(Number.isFinite);
      expect(stats.min[c]).toBe(Math.fround(finite.reduce((a, b) => Math.min(a, b))));
      expect(stats.max[c]).toBe(Math.fround(finite.reduce((a, b) => Math.max(a, b))));
      // Summed in order, as a plain loop does: the same float, not merely a close one.
      expect(stats.mean[c]).toBe(Math.fround(finite.reduce((a, b) => a + b, 0) / finite.length));
      expect(stats.nonFinite[c]).toBe(pixels - finite.length);
    }
    expect(Array.from(stats.nonFinite)).toEqual(nonFinite);
  },
);

test('values outside their span, NaN and the infinities take the colours lutIndex gives them, tile by tile', () => {
  const odd = activation.slice();
  for (const [pixel, channel, value] of [
    [0, 0, NaN],
    [1, 0, Infinity],
    [2, 0, -Infinity],
    [3, 2, 1e12], // far above the span: | 0 alone would wrap it
    [4, 2, -1e12],
    [5, 3, 2 ** 32 + 0.5], // | 0 of it (or of it times 256) lands inside 0..255
  ] as const)
    odd[pixel * C + channel] = value;
  // Spans that leave some finite values out on either side.
  const spans = chosen.map((c): [number, number] => [ranges[c][0] + 0.1, ranges[c][1] - 0.1]);
  for (const colormap of ['gray', 'viridis'] as const) {
    const lut = colormapLut(colormap);
    const expected = makeMosaic(
      chosen.map((c, t) => mapTile(odd, [H, W, C], c, spans[t], lut)),
      { scale: 2, padding: 2 },
    );
    const ours = mapMosaic(odd, [H, W, C], spans, chosen, lut, { scale: 2, padding: 2 });
    expect(Buffer.from(ours.data).equals(Buffer.from(expected.data))).toBe(true);
  }
});
