/**
 * The arithmetic of input attributions that is not pictures: Integrated Gradients' path and its
 * completeness, and SmoothGrad's seeded noise.
 */

/** The trapezoid rule's points and weights on [0, 1] in `steps` intervals: Integrated Gradients' path. */
export function trapezoid(steps: number): Array<{ alpha: number; weight: number }> {
  return Array.from({ length: steps + 1 }, (_, k) => ({
    alpha: k / steps,
    weight: (k === 0 || k === steps ? 0.5 : 1) / steps,
  }));
}

/** The point a fraction `alpha` of the way from the baseline to the input. */
export function between(baseline: Float32Array, input: Float32Array, alpha: number): Float32Array {
  return input.map((v, i) => baseline[i] + alpha * (v - baseline[i]));
}

/**
 * How far Integrated Gradients' attributions are from complete: their sum against f(x) - f(baseline),
 * relative to the latter (Sundararajan et al.: the two are equal for the exact integral).
 */
export function completenessGap(attributions: Float32Array, difference: number): number {
  let sum = 0;
  for (const a of attributions) sum += a;
  return Math.abs(sum - difference) / Math.max(Math.abs(difference), 1e-12);
}

/**
 * Gaussian noise from a seed (mulberry32 and Box-Muller): the same seed, the same SmoothGrad.
 * Not for anything that needs unpredictability.
 */
export function gaussianNoise(length: number, sigma: number, seed: number): Float32Array {
  let state = seed >>> 0;
  const uniform = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296;
  };
  const out = new Float32Array(length);
  for (let i = 0; i < length; i += 2) {
    const r = Math.sqrt(-2 * Math.log(uniform()));
    const theta = 2 * Math.PI * uniform();
    out[i] = sigma * r * Math.cos(theta);
    if (i + 1 < length) out[i + 1] = sigma * r * Math.sin(theta);
  }
  return out;
}
