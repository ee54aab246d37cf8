import { drawLabel, labelSize } from '../../src/render/labels.js';

test('digits are drawn white on a black box from the built-in font, no system fonts needed', () => {
  const image = { width: 12, height: 9, channels: 1 as const, data: new Uint8Array(12 * 9).fill(128) };
  drawLabel(image, '17', 1, 1);
  expect(labelSize('17', 1)).toEqual([9, 7]);
  const row = (y: number) =>
    Array.from(image.data.subarray(y * 12, y * 12 + 12))
      .map((v) => (v === 255 ? '#' : v === 0 ? '.' : ' '))
      .join('');
  expect([row(0), row(1), row(2), row(3), row(6), row(7), row(8)]).toEqual([
    '            ',
    ' .........  ',
    ' ..#..###.  ',
    ' .##....#.  ',
    ' .###..#..  ',
    ' .........  ',
    '            ',
  ]);
});

test('labels are clipped at the image edge, never written outside it', () => {
  const image = { width: 4, height: 4, channels: 3 as const, data: new Uint8Array(4 * 4 * 3).fill(9) };
  drawLabel(image, '8', 2, 2, 2);
  expect(image.data.length).toBe(48);
  expect(image.data[0]).toBe(9);
});
