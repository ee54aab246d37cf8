/**
 * Class activation maps from a layer's maps and a class logit's gradient there: pure arithmetic,
 * as pytorch-grad-cam defines each method (its names, its epsilon, its scaling).
 */
import type { MapShape } from '../net/net.js';

/** The gradient-based methods, as pytorch-grad-cam names them. */
export const CAM_METHODS = ['gradcam', 'gradcam++', 'hirescam', 'xgradcam', 'layercam'] as const;
export type CamMethod = (typeof CAM_METHODS)[number];

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
export function classActivationMap(method: CamMethod, a: Float32Array, g: Float32Array, shape: MapShape): Float32Array {
  const [h, w, c] = shape;
  const cam = new Float32Array(h * w);
  const weights = method === 'hirescam' || method === 'layercam' ? undefined : channelWeights(method, a, g, shape);
  for (let i = 0; i < h * w; i++) {
    let sum = 0;
    for (let k = 0; k < c; k++) {
      const factor = weights ? weights[k] : method === 'hirescam' ? g[i * c + k] : Math.max(0, g[i * c + k]);
      sum += factor * a[i * c + k];
    }
    cam[i] = Math.max(0, sum);
  }
  const low = Math.min(...cam);
  const high = Math.max(...cam) - low;
  for (let i = 0; i < cam.length; i++) cam[i] = (cam[i] - low) / (EPS + high);
  return cam;
}
