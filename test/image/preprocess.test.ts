import { preprocessCaffe, preprocessTf, preprocessTorch, preprocessUnit } from '../../src/image/preprocess.js';

test('caffe: RGB to BGR, minus the ImageNet means 103.939, 116.779, 123.68, no scaling', () => {
  const out = preprocessCaffe(Uint8Array.of(10, 20, 30, 255, 0, 128));
  expect(out[0]).toBeCloseTo(30 - 103.939, 4);
  expect(out[1]).toBeCloseTo(20 - 116.779, 4);
  expect(out[2]).toBeCloseTo(10 - 123.68, 4);
  expect(out[3]).toBeCloseTo(128 - 103.939, 4);
  expect(out[5]).toBeCloseTo(255 - 123.68, 4);
});

test('tf, torch and unit scale as keras.applications does', () => {
  expect(Array.from(preprocessTf(Uint8Array.of(0, 255)))).toEqual([-1, 1]);
  expect(Array.from(preprocessUnit(Uint8Array.of(0, 51, 255)))).toEqual([0, Math.fround(0.2), 1]);
  const torch = preprocessTorch(Uint8Array.of(255, 0, 0));
  expect(torch[0]).toBeCloseTo((1 - 0.485) / 0.229, 5);
  expect(torch[1]).toBeCloseTo(-0.456 / 0.224, 5);
});
