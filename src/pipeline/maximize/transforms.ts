/**
 * Transformation robustness (Lucid's `standard_transforms`): at every step the image is padded
 * with grey (12 px), moved (jitter 8, then 4), scaled (0.9 to 1.1 in steps of 0.02) and rotated
 * (-10 to 10 degrees), so that what the network sees cannot hinge on single pixels. Here the
 * chain is one affine map sampled bilinearly at the image's own size, each draw from a seeded
 * generator, and its adjoint takes the gradient back to the image.
 */

/** One draw of the transformation: a shift in pixels, a scale and an angle. */
export interface Transform {
  dx: number;
  dy: number;
  scale: number;
  degrees: number;
}

export const IDENTITY: Transform = { dx: 0, dy: 0, scale: 1, degrees: 0 };

const PAD_VALUE = 0.5;
const SCALES = Array.from({ length: 11 }, (_, i) => 1 + (i - 5) / 50);
const ANGLES = Array.from({ length: 21 }, (_, i) => i - 10);

const pick = <T>(values: readonly T[], random: () => number): T => values[Math.floor(random() * values.length)];

/**
 * Lucid's draws: two jitters (up to 8 and 4 pixels each way: a random crop of the 12-pixel pad
 * is a shift of up to its size, centred), a scale and an angle.
 */
export function drawTransform(random: () => number): Transform {
  const jitter = (d: number) => Math.floor(random() * (d + 1)) - d / 2;
  const [dx1, dy1] = [jitter(8), jitter(8)];
  const scale = pick(SCALES, random);
  const degrees = pick(ANGLES, random);
  const [dx2, dy2] = [jitter(4), jitter(4)];
  return { dx: dx1 + dx2, dy: dy1 + dy2, scale, degrees };
}

/** Where output pixel (x, y) samples the image: the transform inverted about the centre. */
function sourceOf(t: Transform, w: number, h: number): (x: number, y: number) => [number, number] {
  const [cx, cy] = [(w - 1) / 2, (h - 1) / 2];
  const angle = (-t.degrees * Math.PI) / 180;
  const [cos, sin] = [Math.cos(angle) / t.scale, Math.sin(angle) / t.scale];
  return (x, y) => {
    const [u, v] = [x - cx - t.dx, y - cy - t.dy];
    return [cos * u - sin * v + cx, sin * u + cos * v + cy];
  };
}

/**
 * For each output pixel, its four source pixels (-1 where outside the image) and their bilinear
 * weights: what the transform and its adjoint both walk through.
 */
function samples(t: Transform, w: number, h: number): { index: Int32Array; weight: Float32Array } {
  const index = new Int32Array(w * h * 4);
  const weight = new Float32Array(w * h * 4);
  const source = sourceOf(t, w, h);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const [sx, sy] = source(x, y);
      const [x0, y0] = [Math.floor(sx), Math.floor(sy)];
      const [fx, fy] = [sx - x0, sy - y0];
      const o = (y * w + x) * 4;
      for (let q = 0; q < 4; q++) {
        const [xi, yi] = [x0 + (q & 1), y0 + (q >> 1)];
        index[o + q] = xi >= 0 && xi < w && yi >= 0 && yi < h ? yi * w + xi : -1;
        weight[o + q] = (q & 1 ? fx : 1 - fx) * (q >> 1 ? fy : 1 - fy);
      }
    }
  return { index, weight };
}

/** The transformed image (h, w, 3): bilinear samples, grey where they fall outside. */
export function transformImage(image: Float32Array, w: number, h: number, t: Transform): Float32Array {
  if (t === IDENTITY) return image;
  const out = new Float32Array(image.length);
  const { index, weight } = samples(t, w, h);
  for (let p = 0; p < w * h; p++) {
    let [r, g, b] = [0, 0, 0];
    for (let q = 4 * p; q < 4 * p + 4; q++) {
      const [i, k] = [index[q], weight[q]];
      if (i < 0) {
        r += k * PAD_VALUE;
        g += k * PAD_VALUE;
        b += k * PAD_VALUE;
      } else {
        r += k * image[3 * i];
        g += k * image[3 * i + 1];
        b += k * image[3 * i + 2];
      }
    }
    [out[3 * p], out[3 * p + 1], out[3 * p + 2]] = [r, g, b];
  }
  return out;
}

/** transformImage's adjoint in the image: each output's gradient spread back on the pixels it sampled. */
export function transformBackward(dOut: Float32Array, w: number, h: number, t: Transform): Float32Array {
  if (t === IDENTITY) return dOut;
  const dImage = new Float32Array(dOut.length);
  const { index, weight } = samples(t, w, h);
  for (let p = 0; p < w * h; p++)
    for (let q = 4 * p; q < 4 * p + 4; q++) {
      const i = index[q];
      if (i < 0) continue;
      dImage[3 * i] += weight[q] * dOut[3 * p];
      dImage[3 * i + 1] += weight[q] * dOut[3 * p + 1];
      dImage[3 * i + 2] += weight[q] * dOut[3 * p + 2];
    }
  return dImage;
}
