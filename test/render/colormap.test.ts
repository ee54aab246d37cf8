import { colorize, colormapLut, isGray } from '../../src/render/colormap.js';

const entry = (lut: Uint8Array, i: number) => Array.from(lut.subarray(3 * i, 3 * i + 3));

test('gray runs from black to white', () => {
  const lut = colormapLut('gray');
  expect(entry(lut, 0)).toEqual([0, 0, 0]);
  expect(entry(lut, 128)).toEqual([128, 128, 128]);
  expect(entry(lut, 255)).toEqual([255, 255, 255]);
});

test("viridis, magma and inferno have matplotlib's endpoint colours", () => {
  // matplotlib's _viridis_data[0] = (0.267004, 0.004874, 0.329415), [-1] = (0.993248, 0.906157, 0.143936)
  expect(entry(colormapLut('viridis'), 0)).toEqual([68, 1, 84]);
  expect(entry(colormapLut('viridis'), 255)).toEqual([253, 231, 37]);
  expect(entry(colormapLut('magma'), 0)).toEqual([0, 0, 4]);
  expect(entry(colormapLut('magma'), 255)).toEqual([252, 253, 191]);
  expect(entry(colormapLut('inferno'), 0)).toEqual([0, 0, 4]);
  expect(entry(colormapLut('inferno'), 255)).toEqual([252, 255, 164]);
});

test('values map to the table by 256 equal bins, clamped at the ends; grey images have one channel', () => {
  const gray = colorize(Float32Array.of(-1, 0, 0.5, 1, 2), 5, 1, colormapLut('gray'));
  expect([gray.channels, Array.from(gray.data)]).toEqual([1, [0, 0, 128, 255, 255]]);
  const viridis = colorize(Float32Array.of(0, 1), 2, 1, colormapLut('viridis'));
  expect([viridis.channels, Array.from(viridis.data)]).toEqual([3, [68, 1, 84, 253, 231, 37]]);
  expect([isGray(colormapLut('gray')), isGray(colormapLut('magma'))]).toEqual([true, false]);
});
