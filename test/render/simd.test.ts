/**
 * The WebAssembly kernels: the module cnnviz embeds is simd.wat as wabt assembles it, and its
 * statistics and grey mosaics are, bit for bit, what the JavaScript kernels compute, over
 * VGG-sized layers with NaN, infinities and dead maps, tiles of consecutive and scattered
 * channels, at scale 1 and 3.
 *
 * CNNVIZ_WRITE_WASM=1 writes src/render/simd-wasm.ts from simd.wat instead of checking it.
 */
import { expectAssembled } from '../helpers/wasm.js';
import { SIMD_WASM } from '../../src/render/simd-wasm.js';
import { simdAvailable, statsInWasm } from '../../src/render/simd.js';
import { channelStats, channelStatsInJs, mapMosaic, mapMosaicInJs } from '../../src/render/featuremaps.js';
import { colormapLut } from '../../src/render/colormap.js';

test('the embedded module is simd.wat assembled by wabt', () =>
  expectAssembled('render/simd.wat', 'SIMD_WASM', SIMD_WASM));

test('WebAssembly SIMD runs here (Node.js 20 has it), so the kernels under test are the ones that draw', () => {
  expect(simdAvailable()).toBe(true);
});

/** A ReLU-like activation: about half zeros, the rest spread over [0, 10) (xorshift32: millions of values fast). */
function activation(h: number, w: number, c: number, seed: number): Float32Array {
  const values = new Float32Array(h * w * c);
  let state = seed * 2654435761 || 1;
  for (let i = 0; i < values.length; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    values[i] = Math.max(0, ((state >>> 0) / 2 ** 32) * 20 - 10);
  }
  return values;
}

/** Equal bit for bit, as float64 (every float32 and count is exact in it). */
const same = (a: ArrayLike<number>, b: ArrayLike<number>) =>
  Buffer.from(Float64Array.from(a).buffer).equals(Buffer.from(Float64Array.from(b).buffer));

test.each([
  [224, 224, 64],
  [28, 28, 512],
  [9, 7, 6], // four channels at a time, then two alone
  [5, 5, 3],
])('statistics of a %ix%ix%i layer with NaN, infinities and a dead map equal the JavaScript ones', (h, w, c) => {
  const values = activation(h, w, c, h + c);
  values[3 * c + 1] = NaN;
  values[(h * w - 1) * c + (c - 1)] = Infinity;
  values[c + 2 - (c > 2 ? 0 : 2)] = -Infinity;
  for (let p = 0; p < h * w; p++) values[p * c] = 0.5; // channel 0 dead
  const wasm = channelStats(values, c);
  const js = channelStatsInJs(values, c);
  for (const key of ['min', 'max', 'mean', 'nonFinite'] as const)
    expect([key, same(wasm[key], js[key])]).toEqual([key, true]);
  expect(Array.from(wasm.nonFinite).reduce((a, b) => a + b)).toBe(3);
});

test.each([
  ['consecutive channels, scale 1', [224, 224, 64], Array.from({ length: 64 }, (_, i) => i), 1],
  ['scattered channels, scale 3', [28, 28, 512], [511, 3, 4, 5, 6, 200, 7, 8, 9, 10, 11, 0], 3],
  ['six channels of seven, scale 2', [9, 7, 7], [1, 2, 3, 4, 5, 6], 2],
] as const)('the grey mosaic of %s equals the JavaScript one, edge values included', (_, shape, channels, scale) => {
  const [h, w, c] = shape;
  const values = activation(h, w, c, 7);
  values[channels[1]] = NaN;
  values[w * c + channels[2]] = Infinity;
  values[2 * w * c + channels[3]] = -Infinity;
  values[3 * c + channels[0]] = 1e12;
  const stats = channelStatsInJs(values, c);
  // Spans that leave some values outside on either side, and one constant map.
  const spans = channels.map((ch, t): [number, number] =>
    t === 4 ? [2, 2] : [stats.min[ch] + 0.25, stats.max[ch] - 0.25],
  );
  const lut = colormapLut('gray');
  const wasm = mapMosaic(values, [h, w, c], spans, [...channels], lut, { scale, padding: 2 });
  const js = mapMosaicInJs(values, [h, w, c], spans, [...channels], lut, { scale, padding: 2 });
  expect([wasm.width, wasm.height, wasm.channels]).toEqual([js.width, js.height, 1]);
  expect(Buffer.from(wasm.data).equals(Buffer.from(js.data))).toBe(true);
});

test('a 71 MB layer passes through the module a window at a time: its statistics equal the JavaScript ones', () => {
  const big = activation(1024, 1024, 17, 3); // 71 MB, 17 channels: windows of 3,855 pixels
  big[5] = NaN;
  big[big.length - 1] = -2;
  const wasm = statsInWasm(big, 17)!;
  const js = channelStatsInJs(big, 17);
  expect([same(wasm.min, js.min), same(wasm.max, js.max), same(wasm.nonFinite, js.nonFinite)]).toEqual([
    true,
    true,
    true,
  ]);
  const pixels = 1024 * 1024;
  expect(
    same(
      Float32Array.from(wasm.sum, (s, c) => s / (pixels - wasm.nonFinite[c])),
      js.mean,
    ),
  ).toBe(true);
});
