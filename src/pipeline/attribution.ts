/**
 * The arithmetic of input attributions that is not pictures: Integrated Gradients' path and its
 * completeness.
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
