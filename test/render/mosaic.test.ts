import { makeMosaic, mosaicGeometry, scaleForMinSize } from '../../src/render/mosaic.js';

const tile = (value: number, w = 2, h = 2) => ({
  width: w,
  height: h,
  channels: 3 as const,
  data: new Uint8Array(w * h * 3).fill(value),
});

test('64 tiles make an 8x8 grid; other counts a near-square one', () => {
  expect(mosaicGeometry(64, 10, 10)).toMatchObject({ rows: 8, cols: 8 });
  expect(mosaicGeometry(10, 10, 10)).toMatchObject({ rows: 3, cols: 4 });
  expect(mosaicGeometry(1, 10, 10)).toMatchObject({ rows: 1, cols: 1 });
  expect(mosaicGeometry(6, 10, 10, { nrow: 3 })).toMatchObject({ rows: 2, cols: 3 });
});

test('the size counts tiles, scale and padding around and between them', () => {
  // 3 columns of (4*5 + 1) plus the leading pad; 2 rows of (3*5 + 1) plus 1.
  expect(mosaicGeometry(6, 4, 3, { nrow: 3, padding: 1, scale: 5 })).toMatchObject({ width: 64, height: 33 });
});

test('tiles land at their grid cells, enlarged by nearest neighbour, on the pad colour', () => {
  const mosaic = makeMosaic([tile(10, 1, 1), tile(20, 1, 1), tile(30, 1, 1)], {
    nrow: 2,
    padding: 1,
    scale: 2,
    padValue: 200,
  });
  expect([mosaic.width, mosaic.height]).toEqual([7, 7]);
  const at = (x: number, y: number) => Array.from(mosaic.data.subarray((y * 7 + x) * 3, (y * 7 + x) * 3 + 3));
  expect(at(0, 0)).toEqual([200, 200, 200]);
  expect(at(1, 1)).toEqual([10, 10, 10]);
  expect(at(2, 2)).toEqual([10, 10, 10]);
  expect(at(3, 1)).toEqual([200, 200, 200]);
  expect(at(4, 1)).toEqual([20, 20, 20]);
  expect(at(1, 4)).toEqual([30, 30, 30]);
  expect(at(4, 4)).toEqual([200, 200, 200]); // the empty fourth cell stays padding
});

test('small maps are enlarged to a readable size: 14x14 to 70 pixels for a 64-pixel minimum', () => {
  expect(scaleForMinSize(14, 14, 64)).toBe(5);
  expect(scaleForMinSize(224, 224, 64)).toBe(1);
  expect(scaleForMinSize(3, 3, 32)).toBe(11);
});

test('grey tiles make a one-channel mosaic; a 2x2 tile enlarged 3x fills 6x6 pixels', () => {
  const grey = { width: 2, height: 2, channels: 1 as const, data: Uint8Array.of(1, 2, 3, 4) };
  const mosaic = makeMosaic([grey], { padding: 0, scale: 3 });
  expect([mosaic.channels, mosaic.width, mosaic.height]).toEqual([1, 6, 6]);
  expect(Array.from(mosaic.data)).toEqual([
    1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 3, 3, 3, 4, 4, 4, 3, 3, 3, 4, 4, 4,
  ]);
});
