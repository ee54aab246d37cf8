/**
 * Lucid's image parametrisation and transforms: the Fourier image equals numpy's irfft2 on the
 * same spectra (fixtures/maximize, made by numpy); each map's adjoint passes the dot-product
 * test, and the whole parametrisation's gradient equals finite differences.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  COLOR_MATRIX,
  fourierImage,
  fourierParametrization,
  pixelParametrization,
} from '../../../src/pipeline/maximize/parametrization.js';
import { transformBackward, transformImage, type Transform } from '../../../src/pipeline/maximize/transforms.js';
import { gaussianNoise, seededRandom } from '../../../src/random.js';
import { maxAbsDiff } from '../../helpers/compare.js';
import { FIXTURES } from '../../helpers/paths.js';

const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((s, v, i) => s + v * b[i], 0);

test.each(
  JSON.parse(readFileSync(join(FIXTURES, 'maximize', 'irfft.json'), 'utf8')) as Array<{
    h: number;
    w: number;
    params: number[];
    image: number[];
  }>,
)(
  'the Fourier image of $h x $w equals numpy irfft2 of the scaled spectrum, cropped, / 4',
  ({ h, w, params, image }) => {
    const fourier = fourierImage(h, w);
    expect(fourier.length).toBe(params.length);
    expect(maxAbsDiff(fourier.image(Float32Array.from(params)), Float32Array.from(image))).toBeLessThan(1e-4);
  },
);

test.each([
  [8, 8],
  [6, 5],
  [20, 13],
])('the Fourier image %ix%i: its adjoint passes the dot-product test', (h, w) => {
  const fourier = fourierImage(h, w);
  const p = gaussianNoise(fourier.length, 1, seededRandom(1));
  const y = gaussianNoise(h * w * 3, 1, seededRandom(2));
  const left = dot(fourier.image(p), y);
  expect(Math.abs(left - dot(p, fourier.backward(y))) / Math.abs(left)).toBeLessThan(1e-5);
});

test("the colour matrix is Lucid's, its largest column norm 1", () => {
  const norms = [0, 1, 2].map((j) => Math.hypot(...COLOR_MATRIX.map((row) => row[j])));
  expect(Math.max(...norms)).toBeCloseTo(1, 6);
  // 0.26 / the first column's norm sqrt(0.26^2 + 0.27^2 + 0.27^2)
  expect(COLOR_MATRIX[0][0]).toBeCloseTo(0.26 / Math.sqrt(0.26 ** 2 + 0.27 ** 2 + 0.27 ** 2), 6);
});

describe.each([
  ['Fourier, decorrelated', fourierParametrization(6, 7, true)],
  ['Fourier, plain colours', fourierParametrization(6, 7, false)],
  ['pixels, decorrelated', pixelParametrization(6, 7, true)],
])('%s', (_name, param) => {
  test('the gradient with respect to the parameters equals finite differences', () => {
    const p = gaussianNoise(param.length, 0.3, seededRandom(5));
    const y = gaussianNoise(6 * 7 * 3, 1, seededRandom(6));
    const objective = (q: Float32Array) => dot(param.render(q).pixels, y);
    const { saved } = param.render(p);
    const grad = param.backward(saved, y);
    const scale = Math.max(...grad.map(Math.abs));
    for (const i of [0, 7, 31, param.length - 1]) {
      const [up, down] = [Float64Array.from(p), Float64Array.from(p)];
      up[i] += 1e-3;
      down[i] -= 1e-3;
      const measured = (objective(Float32Array.from(up)) - objective(Float32Array.from(down))) / 2e-3;
      expect(Math.abs(measured - grad[i]) / scale).toBeLessThan(1e-2);
    }
  });
});

test('a transform is linear but for its grey border: its adjoint passes the dot-product test', () => {
  const [w, h] = [16, 12];
  const t: Transform = { dx: 3, dy: -2, scale: 1.06, degrees: 7 };
  const x = gaussianNoise(w * h * 3, 1, seededRandom(7));
  const y = gaussianNoise(w * h * 3, 1, seededRandom(8));
  const border = transformImage(new Float32Array(w * h * 3), w, h, t);
  const linear = transformImage(x, w, h, t).map((v, i) => v - border[i]);
  expect(Math.abs(dot(linear, y) - dot(x, transformBackward(y, w, h, t)))).toBeLessThan(1e-3);
});

test('a shift by one pixel moves the image right, grey coming in at the left', () => {
  const [w, h] = [4, 2];
  const x = Float32Array.from({ length: w * h * 3 }, (_, i) => Math.floor(i / 3) / 10);
  const out = transformImage(x, w, h, { dx: 1, dy: 0, scale: 1, degrees: 0 });
  const red = Array.from({ length: w * h }, (_, p) => Number(out[3 * p].toFixed(6)));
  expect(red).toEqual([0.5, 0, 0.1, 0.2, 0.5, 0.4, 0.5, 0.6]);
});
