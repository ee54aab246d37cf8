/**
 * The feature-map mosaic written in place, row by row, is the mosaic of its tiles made one by
 * one (mapTile, each map on its own, and makeMosaic, torchvision's layout): at every scale,
 * grey and colour, with channels chosen out of order and a dead map among them.
 */
import { mapMosaic, mapTile, channelRanges } from '../../src/render/featuremaps.js';
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
