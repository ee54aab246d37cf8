/**
 * Class activation maps from a layer's maps and what weighs them (a class logit's gradient there,
 * the scores of masked or ablated forward passes, the maps' principal component): pure
 * arithmetic, as pytorch-grad-cam defines each method (its names, its epsilon, its scaling).
 */
import { Matrix, SVD } from 'ml-matrix';
import type { MapShape } from '../net/net.js';
import { resizeBilinear } from './overlay.js';

import type { GradientCamMethod } from './cam-methods.js';

/** The small number pytorch-grad-cam adds where it divides. */
const EPS = 1e-7;

/** Per-channel weights from maps and gradients (h, w, c): what separates the methods that weigh whole channels. */
function channelWeights(
  method: 'gradcam' | 'gradcam++' | 'xgradcam',
  a: Float32Array,
  g: Float32Array,
  [h, w, c]: MapShape,
): Float64Array {
  const weights = new Float64Array(c);
  const n = h * w;
  const sumA = new Float64Array(c);
  for (let i = 0; i < n; i++) for (let k = 0; k < c; k++) sumA[k] += a[i * c + k];
  for (let i = 0; i < n; i++)
    for (let k = 0; k < c; k++) {
      const gi = g[i * c + k];
      if (method === 'gradcam') weights[k] += gi / n;
      // XGrad-CAM (Fu et al.): the gradient weighted by the normalised activation.
      else if (method === 'xgradcam') weights[k] += (gi * a[i * c + k]) / (sumA[k] + EPS);
      else if (gi !== 0) {
        // Grad-CAM++ (Chattopadhay et al.): alpha = g^2 / (2 g^2 + sum(A) g^3), weights of positive gradients.
        const alpha = (gi * gi) / (2 * gi * gi + sumA[k] * gi * gi * gi + EPS);
        weights[k] += Math.max(0, gi) * alpha;
      }
    }
  return weights;
}

/**
 * A class activation map from a layer's maps and the class logit's gradient there (both
 * (h, w, c)), ReLU'd and scaled to [0, 1] as pytorch-grad-cam scales it ((x - min) / max).
 * Grad-CAM, Grad-CAM++ and XGrad-CAM weigh whole channels; HiResCAM multiplies the gradient
 * element by element; LayerCAM takes only its positive part.
 */
export function classActivationMap(
  method: GradientCamMethod,
  a: Float32Array,
  g: Float32Array,
  shape: MapShape,
): Float32Array {
  if (method !== 'hirescam' && method !== 'layercam') return weightedCam(a, channelWeights(method, a, g, shape), shape);
  const [h, w, c] = shape;
  const cam = new Float32Array(h * w);
  for (let i = 0; i < h * w; i++) {
    let sum = 0;
    for (let k = 0; k < c; k++)
      sum += (method === 'hirescam' ? g[i * c + k] : Math.max(0, g[i * c + k])) * a[i * c + k];
    cam[i] = sum;
  }
  return scaledCam(cam);
}

/** ReLU, then (x - min) / (max + eps) as pytorch-grad-cam scales every map; in place. */
export function scaledCam(cam: Float32Array): Float32Array {
  for (let i = 0; i < cam.length; i++) cam[i] = Math.max(0, cam[i]);
  let [low, high] = [Infinity, -Infinity];
  for (const v of cam) [low, high] = [Math.min(low, v), Math.max(high, v)];
  for (let i = 0; i < cam.length; i++) cam[i] = (cam[i] - low) / (EPS + high - low);
  return cam;
}

/** The maps (h, w, c) summed with a weight per channel, then scaled. */
export function weightedCam(a: Float32Array, weights: ArrayLike<number>, [h, w, c]: MapShape): Float32Array {
  const cam = new Float32Array(h * w);
  for (let i = 0; i < h * w; i++) {
    let sum = 0;
    for (let k = 0; k < c; k++) sum += weights[k] * a[i * c + k];
    cam[i] = sum;
  }
  return scaledCam(cam);
}

/**
 * Score-CAM's masks (Wang et al.): each channel's map enlarged to the input (h, w) bilinearly
 * with aligned corners (PyTorch's UpsamplingBilinear2d) and scaled to [0, 1] by its own
 * minimum and maximum; the input is multiplied by each.
 */
export function scoreCamMask(
  a: Float32Array,
  [h, w, c]: MapShape,
  channel: number,
  to: [number, number],
): Float32Array {
  const plane = Float32Array.from({ length: h * w }, (_, i) => a[i * c + channel]);
  const mask = resizeBilinear(plane, [h, w], to, true);
  let [low, high] = [Infinity, -Infinity];
  for (const v of mask) [low, high] = [Math.min(low, v), Math.max(high, v)];
  for (let i = 0; i < mask.length; i++) mask[i] = (mask[i] - low) / (high - low + 1e-8);
  return mask;
}

/**
 * What Ablation-CAM puts in place of a channel: 0 where the maps are ReLU'd (their minimum is 0),
 * else far below their minimum (pytorch-grad-cam's 1e7), so what follows sees it as off.
 */
export function ablationFill(a: Float32Array): number {
  let low = Infinity;
  for (const v of a) low = Math.min(low, v);
  return low === 0 ? 0 : low - 1e7;
}

/** Ablation-CAM's channel weights (Desai and Ramaswamy): the class score's relative drop without each channel. */
export function ablationWeights(score: number, ablated: ArrayLike<number>): Float64Array {
  return Float64Array.from(ablated, (s) => (score - s) / score);
}

/**
 * Eigen-CAM (Muhammad and Yeasin): the maps (h * w rows, c columns), centred per channel,
 * projected on their first principal component. A component's sign is arbitrary in an SVD; it
 * is taken so that its channel weights sum positive, the direction of more activation.
 */
export function eigenCam(a: Float32Array, [h, w, c]: MapShape): Float32Array {
  const rows = Matrix.from1DArray(
    h * w,
    c,
    Float64Array.from(a, (v) => (Number.isFinite(v) ? v : 0)),
  );
  const centred = rows.clone().subRowVector(rows.mean('column'));
  const svd = new SVD(centred, { computeLeftSingularVectors: false, autoTranspose: true });
  const component = svd.rightSingularVectors.getColumn(0);
  const sign = component.reduce((x, y) => x + y, 0) < 0 ? -1 : 1;
  const projection = centred.mmul(Matrix.columnVector(component.map((v) => sign * v)));
  return scaledCam(Float32Array.from(projection.getColumn(0)));
}
