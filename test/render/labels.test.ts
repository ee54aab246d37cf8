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
  // The 4x4 image is a view into a larger buffer: guard bytes before and after must stay as they are.
  const buffer = new Uint8Array(16 + 4 * 4 * 3 + 16).fill(7);
  const image = { width: 4, height: 4, channels: 3 as const, data: buffer.subarray(16, 16 + 48).fill(9) };
  // At (2, 2) with 2-pixel font pixels the box is 18x14: only its top-left 2x2 lies inside.
  drawLabel(image, '8', 2, 2, 2);
  expect([...buffer.subarray(0, 16), ...buffer.subarray(64)]).toEqual(new Array(32).fill(7));
  const at = (x: number, y: number) => image.data[(y * 4 + x) * 3];
  const painted = [0, 1, 2, 3].flatMap((y) => [0, 1, 2, 3].map((x) => (x >= 2 && y >= 2 ? 0 : 9)));
  expect([0, 1, 2, 3].flatMap((y) => [0, 1, 2, 3].map((x) => at(x, y)))).toEqual(painted);
});
