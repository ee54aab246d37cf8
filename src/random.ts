/**
 * Seeded random numbers, for pictures that must come out the same for the same seed (SmoothGrad's
 * noise, feature visualization's start and transforms): mulberry32 and Box-Muller. Not for
 * anything that needs unpredictability.
 */

/** Numbers in [0, 1) from a 32-bit seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `length` normal values of deviation `sigma` (Box-Muller, two a pair of uniforms). */
export function gaussianNoise(length: number, sigma: number, random: () => number): Float32Array {
  const out = new Float32Array(length);
  for (let i = 0; i < length; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - random()));
    const theta = 2 * Math.PI * random();
    out[i] = sigma * r * Math.cos(theta);
    if (i + 1 < length) out[i + 1] = sigma * r * Math.sin(theta);
  }
  return out;
}
