import { pilNearestIndices, resizeArea, resizeImage, resizeNearest } from '../../src/image/resize.js';

test('nearest picks the source pixels PIL picks: floor((i + 0.5) * src / dst)', () => {
  // Chelsea is 451x300; Keras' load_img(target_size=(224, 224)) samples these columns.
  const xs = pilNearestIndices(451, 224);
  expect(xs[0]).toBe(1);
  expect(xs[1]).toBe(3);
  expect(xs[223]).toBe(449);
  expect(Array.from(pilNearestIndices(300, 224).subarray(0, 4))).toEqual([0, 2, 3, 4]);
  expect(Array.from(pilNearestIndices(4, 8))).toEqual([0, 0, 1, 1, 2, 2, 3, 3]);
});

test('nearest resize copies whole RGB pixels from those positions', () => {
  const data = Uint8Array.from({ length: 4 * 1 * 3 }, (_, i) => i);
  const out = resizeNearest({ width: 4, height: 1, data }, 2, 1);
  // columns floor(0.5*2)=1 and floor(1.5*2)=3
  expect(Array.from(out.data)).toEqual([3, 4, 5, 9, 10, 11]);
});

test('area resize averages the covered source pixels', () => {
  const data = Uint8Array.from([0, 0, 0, 100, 100, 100, 50, 50, 50, 250, 250, 250]);
  const out = resizeArea({ width: 4, height: 1, data }, 2, 1);
  expect(Array.from(out.data)).toEqual([50, 50, 50, 150, 150, 150]);
});

test('bilinear resize goes through sharp and gives the requested size', async () => {
  const data = new Uint8Array(10 * 6 * 3).fill(77);
  const out = await resizeImage({ width: 10, height: 6, data }, 5, 3, 'bilinear');
  expect([out.width, out.height, out.data.length]).toEqual([5, 3, 45]);
  expect(out.data.every((v) => v === 77)).toBe(true);
});
