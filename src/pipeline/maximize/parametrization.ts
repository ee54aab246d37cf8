/**
 * The image being optimised, as Lucid parametrises it (Olah et al., "Feature Visualization"):
 * a 1/f-scaled Fourier spectrum (or plain pixels), colours decorrelated with the square root of
 * ImageNet's colour covariance, a sigmoid into [0, 1]. Each map comes with its adjoint, so the
 * gradient with respect to the pixels becomes one with respect to the parameters.
 */
import FFT from 'fft.js';
import { gaussianNoise } from '../../random.js';

/** Lucid's square root of ImageNet's colour covariance (its SVD), columns scaled to unit norm at most. */
const COLOR_SQRT = [
  [0.26, 0.09, 0.02],
  [0.27, 0.0, -0.05],
  [0.27, -0.09, 0.03],
];
const MAX_NORM = Math.max(...[0, 1, 2].map((j) => Math.hypot(...COLOR_SQRT.map((row) => row[j]))));
export const COLOR_MATRIX = COLOR_SQRT.map((row) => row.map((v) => v / MAX_NORM));

export interface Parametrization {
  /** Parameters per image. */
  length: number;
  /** Lucid's start: normal values of deviation 0.01, from a seed. */
  initial(random: () => number): Float32Array;
  /** The image (h, w, 3) in [0, 1], and what `backward` needs of this forward pass. */
  render(params: Float32Array): { pixels: Float32Array; saved: Float32Array };
  /** The gradient with respect to the parameters, from the one with respect to the pixels. */
  backward(saved: Float32Array, dPixels: Float32Array): Float32Array;
}

/** Colours mixed by the matrix (or not), then squashed into [0, 1]. */
function toRgb(pre: Float32Array, decorrelate: boolean): Float32Array {
  const out = new Float32Array(pre.length);
  for (let p = 0; p < pre.length; p += 3) {
    for (let c = 0; c < 3; c++) {
      const v = decorrelate
        ? COLOR_MATRIX[c][0] * pre[p] + COLOR_MATRIX[c][1] * pre[p + 1] + COLOR_MATRIX[c][2] * pre[p + 2]
        : pre[p + c];
      out[p + c] = 1 / (1 + Math.exp(-v));
    }
  }
  return out;
}

/** toRgb's adjoint at the pixels it gave. */
function toRgbBackward(pixels: Float32Array, dPixels: Float32Array, decorrelate: boolean): Float32Array {
  const dPre = new Float32Array(pixels.length);
  for (let p = 0; p < pixels.length; p += 3) {
    const d = [0, 1, 2].map((c) => dPixels[p + c] * pixels[p + c] * (1 - pixels[p + c]));
    for (let j = 0; j < 3; j++)
      dPre[p + j] = decorrelate
        ? COLOR_MATRIX[0][j] * d[0] + COLOR_MATRIX[1][j] * d[1] + COLOR_MATRIX[2][j] * d[2]
        : d[j];
  }
  return dPre;
}

/** Plain pixels (Lucid's `naive`): the values before the sigmoid are the parameters. */
export function pixelParametrization(h: number, w: number, decorrelate: boolean): Parametrization {
  const length = h * w * 3;
  return {
    length,
    initial: (random) => gaussianNoise(length, 0.01, random),
    render(params) {
      const pixels = toRgb(params, decorrelate);
      return { pixels, saved: pixels };
    },
    backward: (pixels, dPixels) => toRgbBackward(pixels, dPixels, decorrelate),
  };
}

const nextPowerOfTwo = (n: number): number => 2 ** Math.ceil(Math.log2(Math.max(2, n)));

/**
 * The Fourier image: per colour a spectrum of (H, W / 2 + 1) complex values on a power-of-two
 * grid (H x W) covering the image, each frequency scaled by 1 / max(f, 1 / max(W, H)) times
 * sqrt(W H); the image is the top-left (h, w) of its inverse real 2-d DFT (numpy's irfft2),
 * divided by 4. Linear, with its adjoint.
 */
export function fourierImage(
  h: number,
  w: number,
): { length: number; image(params: Float32Array): Float32Array; backward(dPre: Float32Array): Float32Array } {
  const [H, W] = [nextPowerOfTwo(h), nextPowerOfTwo(w)];
  const bins = W / 2 + 1;
  const plane = H * bins;
  const length = 2 * 3 * plane; // real parts, then imaginary parts, colour by colour
  const scale = new Float32Array(plane);
  for (let j = 0; j < H; j++) {
    const fy = (j < H / 2 ? j : j - H) / H;
    for (let k = 0; k < bins; k++) {
      const f = Math.hypot(k / W, fy);
      scale[j * bins + k] = (1 / Math.max(f, 1 / Math.max(W, H))) * Math.sqrt(W * H);
    }
  }
  const columns = new FFT(H);
  const rows = new FFT(W);
  const column = columns.createComplexArray() as number[];
  const columnOut = columns.createComplexArray() as number[];
  const row = rows.createComplexArray() as number[];
  const rowOut = rows.createComplexArray() as number[];
  const re = (c: number) => c * plane;
  const im = (c: number) => (3 + c) * plane;

  /** The image before colours: inverse DFT of the scaled spectrum, cropped, / 4; (h, w, 3). */
  function image(params: Float32Array): Float32Array {
    const pre = new Float32Array(h * w * 3);
    const t = new Float64Array(2 * plane);
    for (let c = 0; c < 3; c++) {
      // Complex inverse DFT down each column (fft.js's inverse divides by H).
      for (let k = 0; k < bins; k++) {
        for (let j = 0; j < H; j++) {
          column[2 * j] = params[re(c) + j * bins + k] * scale[j * bins + k];
          column[2 * j + 1] = params[im(c) + j * bins + k] * scale[j * bins + k];
        }
        columns.inverseTransform(columnOut, column);
        for (let j = 0; j < H; j++)
          [t[2 * (j * bins + k)], t[2 * (j * bins + k) + 1]] = [columnOut[2 * j], columnOut[2 * j + 1]];
      }
      // Real inverse DFT along each row kept: the spectrum completed by symmetry, the imaginary
      // parts of the constant and Nyquist terms dropped (as numpy's irfft does).
      for (let j = 0; j < h; j++) {
        for (let k = 0; k < bins; k++) {
          const [a, b] = [t[2 * (j * bins + k)], k === 0 || k === W / 2 ? 0 : t[2 * (j * bins + k) + 1]];
          row[2 * k] = a;
          row[2 * k + 1] = b;
          if (k > 0 && k < W / 2) [row[2 * (W - k)], row[2 * (W - k) + 1]] = [a, -b];
        }
        rows.inverseTransform(rowOut, row);
        for (let x = 0; x < w; x++) pre[(j * w + x) * 3 + c] = rowOut[2 * x] / 4;
      }
    }
    return pre;
  }

  /** image's adjoint: from d(pre) (h, w, 3) to d(params). */
  function imageBackward(dPre: Float32Array): Float32Array {
    const grad = new Float32Array(length);
    const dt = new Float64Array(2 * plane);
    for (let c = 0; c < 3; c++) {
      dt.fill(0);
      // The rows' adjoint: the forward DFT of each (zero-padded) row, weighted 1 or 2 per bin, / W.
      for (let j = 0; j < h; j++) {
        row.fill(0);
        for (let x = 0; x < w; x++) row[2 * x] = dPre[(j * w + x) * 3 + c] / 4;
        rows.transform(rowOut, row);
        for (let k = 0; k < bins; k++) {
          const weight = (k === 0 || k === W / 2 ? 1 : 2) / W;
          dt[2 * (j * bins + k)] = weight * rowOut[2 * k];
          dt[2 * (j * bins + k) + 1] = k === 0 || k === W / 2 ? 0 : weight * rowOut[2 * k + 1];
        }
      }
      // The columns' adjoint: the forward DFT of each column, / H, then the frequencies' scale.
      for (let k = 0; k < bins; k++) {
        for (let j = 0; j < H; j++)
          [column[2 * j], column[2 * j + 1]] = [dt[2 * (j * bins + k)], dt[2 * (j * bins + k) + 1]];
        columns.transform(columnOut, column);
        for (let j = 0; j < H; j++) {
          grad[re(c) + j * bins + k] = (columnOut[2 * j] / H) * scale[j * bins + k];
          grad[im(c) + j * bins + k] = (columnOut[2 * j + 1] / H) * scale[j * bins + k];
        }
      }
    }
    return grad;
  }

  return { length, image, backward: imageBackward };
}

/** Lucid's default: the Fourier image, colours decorrelated (or not), a sigmoid. */
export function fourierParametrization(h: number, w: number, decorrelate: boolean): Parametrization {
  const fourier = fourierImage(h, w);
  return {
    length: fourier.length,
    initial: (random) => gaussianNoise(fourier.length, 0.01, random),
    render(params) {
      const pixels = toRgb(fourier.image(params), decorrelate);
      return { pixels, saved: pixels };
    },
    backward: (pixels, dPixels) => fourier.backward(toRgbBackward(pixels, dPixels, decorrelate)),
  };
}
