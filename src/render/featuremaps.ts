/**
 * The feature-maps picture: chosen channels of one layer's activation (H, W, C) as a
 * near-square mosaic of colour-mapped tiles, as the tutorial's 8x8 imshow grid.
 */
import { isGray, isGreyRamp, lutIndex, type Lut } from './colormap.js';
import { drawLabel, labelSize } from './labels.js';
import type { MapShape } from '../net/net.js';
import { mosaicGeometry, scaleForMinSize, tileOrigin, type PixelImage } from './mosaic.js';
import { paintGreyInWasm, statsInWasm, type ChannelSums } from './simd.js';

export type MapNormalize = 'map' | 'layer';
export type MapOrder = 'index' | 'activity';

/** Channel `c` of a channels-last activation, as an (H, W) plane. */
export function featureMap(activation: Float32Array, [h, w, c]: MapShape, channel: number): Float32Array {
  const out = new Float32Array(h * w);
  for (let i = 0; i < h * w; i++) out[i] = activation[i * c + channel];
  return out;
}

export interface ChannelStats {
  /** Over the finite values only; a channel with none has min Infinity, max -Infinity, mean NaN. */
  min: Float32Array;
  max: Float32Array;
  mean: Float32Array;
  /** How many values of each channel are NaN or infinite (a broken weight upstream). */
  nonFinite: Uint32Array;
}

/**
 * Each channel's min, max and mean of its finite values, and its count of others, in one pass
 * over a channels-last activation: in WebAssembly SIMD where it runs, else in JavaScript.
 */
export function channelStats(activation: Float32Array, channels: number): ChannelStats {
  return finished(statsInWasm(activation, channels) ?? sumsInJs(activation, channels), activation.length / channels);
}

/** channelStats in JavaScript: the same numbers, bit for bit (the fallback, and the tests' reference). */
export function channelStatsInJs(activation: Float32Array, channels: number): ChannelStats {
  return finished(sumsInJs(activation, channels), activation.length / channels);
}

/** Per-channel sums as both kernels give them, made into statistics. */
function finished(sums: ChannelSums, pixels: number): ChannelStats {
  const { min, max, sum, nonFinite } = sums;
  return { min, max, mean: Float32Array.from(sum, (s, c) => s / (pixels - nonFinite[c])), nonFinite };
}

function sumsInJs(activation: Float32Array, channels: number): ChannelSums {
  const min = new Float64Array(channels).fill(Infinity);
  const max = new Float64Array(channels).fill(-Infinity);
  const sum = new Float64Array(channels);
  const nonFinite = new Uint32Array(channels);
  // In chunks of pixels: V8 optimises a function called many times sooner than one long loop.
  const chunk = channels * 256;
  for (let start = 0; start < activation.length; start += chunk)
    accumulate(activation, start, Math.min(activation.length, start + chunk), channels, min, max, sum, nonFinite);
  return { min: Float32Array.from(min), max: Float32Array.from(max), sum, nonFinite };
}

function accumulate(
  activation: Float32Array,
  start: number,
  end: number,
  channels: number,
  min: Float64Array,
  max: Float64Array,
  sum: Float64Array,
  nonFinite: Uint32Array,
): void {
  // A channel at a time over a chunk that stays in cache: its running values live in registers.
  for (let c = 0; c < channels; c++) {
    let [lo, hi, total, bad] = [min[c], max[c], sum[c], 0];
    for (let i = start + c; i < end; i += channels) {
      const v = activation[i];
      // v - v is 0 for every finite number, NaN for NaN and the infinities.
      if (v - v !== 0) {
        bad++;
        continue;
      }
      if (v < lo) lo = v;
      if (v > hi) hi = v;
      total += v;
    }
    [min[c], max[c], sum[c]] = [lo, hi, total];
    nonFinite[c] += bad;
  }
}

/** The values of an activation that are NaN or infinite. */
export const nonFiniteCount = (stats: ChannelStats): number => stats.nonFinite.reduce((a, b) => a + b, 0);

export function channelRanges(activation: Float32Array, channels: number): Array<[number, number]> {
  const { min, max } = channelStats(activation, channels);
  return Array.from(min, (m, c) => [m, max[c]]);
}

/**
 * The channels to draw: the first `count`, or with 'activity' the `count` with the highest
 * mean activation, strongest first (ties by index).
 */
export function selectChannels(stats: ChannelStats, count: number, order: MapOrder): number[] {
  const all = Array.from(stats.mean, (_, c) => c);
  // A channel without a finite value ranks last, not anywhere NaN's comparisons put it.
  const mean = (c: number) => (Number.isNaN(stats.mean[c]) ? -Infinity : stats.mean[c]);
  if (order === 'activity') all.sort((a, b) => mean(b) - mean(a) || a - b);
  return all.slice(0, Math.min(count, all.length));
}

/** Per-layer numbers for reports: mean activation and the share of constant (dead) maps. */
export function layerStatistics(stats: ChannelStats): { mean: number; deadShare: number } {
  const channels = stats.mean.length;
  let dead = 0;
  let sum = 0;
  let counted = 0;
  for (let c = 0; c < channels; c++) {
    if (stats.max[c] === stats.min[c]) dead++;
    if (!Number.isNaN(stats.mean[c])) {
      sum += stats.mean[c];
      counted++;
    }
  }
  return { mean: sum / counted, deadShare: dead / channels };
}

/**
 * One map as a tile, scaled by `range` and looked up in the table in a single pass (the
 * same result as featureMap, rescale and colorize, without their intermediate arrays).
 */
/**
 * Both diagonals of a tile, in black and white dashes (visible on any map and colour map),
 * about a tenth of the tile thick; in place.
 */
export function crossOut(image: PixelImage, left: number, top: number, width: number, height: number): void {
  const thickness = Math.max(1, Math.round(Math.min(width, height) / 10));
  const steps = Math.max(width, height);
  for (let i = 0; i < steps; i++) {
    const value = Math.floor(i / Math.max(2, thickness)) % 2 ? 255 : 0;
    const y = top + Math.floor((i * height) / steps);
    for (const x of [left + Math.floor((i * width) / steps), left + width - 1 - Math.floor((i * width) / steps)]) {
      for (let d = 0; d < thickness; d++) {
        const px = Math.min(left + width - 1, x + d - Math.floor(thickness / 2));
        if (px < left) continue;
        image.data.fill(value, (y * image.width + px) * image.channels, (y * image.width + px + 1) * image.channels);
      }
    }
  }
}

export function mapTile(
  activation: Float32Array,
  [h, w, c]: MapShape,
  channel: number,
  [min, max]: [number, number],
  lut: Lut,
  gray = isGray(lut),
): PixelImage {
  const n = h * w;
  const range = max - min;
  const inverse = range > 0 && Number.isFinite(range) ? 1 / range : 0;
  const channels = gray ? 1 : 3;
  const data = new Uint8Array(n * channels);
  for (let i = 0; i < n; i++) {
    const entry = 3 * lutIndex((activation[i * c + channel] - min) * inverse);
    if (gray) data[i] = lut[entry];
    else {
      data[3 * i] = lut[entry];
      data[3 * i + 1] = lut[entry + 1];
      data[3 * i + 2] = lut[entry + 2];
    }
  }
  return { width: w, height: h, channels, data };
}

/**
 * The mosaic of the chosen channels, written in place row by row: one row of the activation
 * stays in cache while each tile reads its channel from it (a tile at a time strides through
 * the whole activation once per tile). Each tile is what mapTile makes, enlarged by `scale`
 * and placed as makeMosaic places it. Grey mosaics in WebAssembly where it runs, the others
 * (and runtimes without SIMD) in JavaScript.
 */
export function mapMosaic(
  activation: Float32Array,
  shape: MapShape,
  spans: Array<[number, number]>,
  channels: number[],
  lut: Lut,
  layout: { scale: number; padding: number },
): PixelImage {
  // The plain grey ramp (a table entry is its own grey level) paints in WebAssembly where it runs.
  if (isGreyRamp(lut)) {
    const { tiles, width, height } = tileRows(shape, spans, channels, 1, layout);
    const painted = paintGreyInWasm(
      activation,
      shape,
      { ...tiles, inverse256: tiles.inverse.map((v) => v * 256) },
      {
        width,
        height,
        scale: layout.scale,
      },
    );
    if (painted) return { width, height, channels: 1, data: painted.slice() };
  }
  return mapMosaicInJs(activation, shape, spans, channels, lut, layout);
}

/** mapMosaic in JavaScript, for every colour table: the same bytes. */
export function mapMosaicInJs(
  activation: Float32Array,
  [h, w, c]: MapShape,
  spans: Array<[number, number]>,
  channels: number[],
  lut: Lut,
  layout: { scale: number; padding: number },
): PixelImage {
  const depth = isGray(lut) ? 1 : 3;
  const { tiles, width, height } = tileRows([h, w, c], spans, channels, depth, layout);
  const data = new Uint8Array(width * height * depth).fill(255);
  const rowStride = width * depth;
  // Painting and widening are small functions of their own, so V8 optimises each once: in
  // one function, the first layer drawn at scale 2 threw away the code made at scale 1.
  for (let y = 0; y < h; y++)
    paintRow(activation, y * w * c, w, c, tiles, lut, depth, data, y * layout.scale * rowStride);
  if (layout.scale > 1) widenTiles(data, tiles.origin, w, h, rowStride, layout.scale, depth);
  return { width, height, channels: depth, data };
}

/** The mosaic's size, and where each tile reads and writes and how it scales its values. */
function tileRows(
  [h, w]: MapShape,
  spans: Array<[number, number]>,
  channels: number[],
  depth: number,
  layout: { scale: number; padding: number },
): { tiles: TileRows; width: number; height: number } {
  const { cols, width, height } = mosaicGeometry(channels.length, w, h, layout);
  const tiles: TileRows = {
    scale: layout.scale,
    channel: Int32Array.from(channels),
    low: Float64Array.from(spans, ([min]) => min),
    inverse: Float64Array.from(spans, ([min, max]) =>
      max - min > 0 && Number.isFinite(max - min) ? 1 / (max - min) : 0,
    ),
    // Each tile's first byte in the mosaic.
    origin: Int32Array.from(channels, (_, t) => {
      const [left, top] = tileOrigin(t, w, h, cols, layout);
      return (top * width + left) * depth;
    }),
  };
  return { tiles, width, height };
}

/** Where each tile reads (its channel) and how it scales its values to [0, 1]. */
interface TileRows {
  scale: number;
  channel: Int32Array;
  low: Float64Array;
  inverse: Float64Array;
  origin: Int32Array;
}

/**
 * The table entry of v = (value - low) * inverse * 256: lutIndex of v / 256, with one branch
 * that is almost never taken (out of range, NaN), where lutIndex's test for v > 0 goes either
 * way on a ReLU's zeros and mispredicts (a mosaic drew in twice the time).
 */
function entryOf(v: number): number {
  const k = v | 0;
  // k >>> 0 > 255: negative or above 255; v > 256: beyond what | 0 wraps correctly.
  if (k >>> 0 > 255 || v > 256) return v > 0 ? 255 : 0;
  return k;
}

/** One activation row into every tile, grey or RGB: a tile's pixels `scale` apart, for widenTiles to fill the gaps. */
function paintRow(
  activation: Float32Array,
  rowStart: number,
  w: number,
  c: number,
  tiles: TileRows,
  lut: Lut,
  depth: number,
  data: Uint8Array,
  outStart: number,
): void {
  const step = tiles.scale * depth;
  for (let t = 0; t < tiles.channel.length; t++) {
    const lo = tiles.low[t];
    // Times 256 is exact in floating point: the same products as lutIndex's.
    const inv = tiles.inverse[t] * 256;
    let read = rowStart + tiles.channel[t];
    let write = tiles.origin[t] + outStart;
    for (let x = 0; x < w; x++, read += c, write += step) {
      const entry = 3 * entryOf((activation[read] - lo) * inv);
      data[write] = lut[entry];
      if (depth === 3) {
        data[write + 1] = lut[entry + 1];
        data[write + 2] = lut[entry + 2];
      }
    }
  }
}

/** Enlarges every painted pixel to scale x scale: widens each tile row, then copies it down. */
function widenTiles(
  data: Uint8Array,
  origins: Int32Array,
  w: number,
  h: number,
  rowStride: number,
  scale: number,
  depth: number,
): void {
  const tileRow = w * scale * depth;
  for (let t = 0; t < origins.length; t++) {
    for (let y = 0; y < h; y++) {
      const row = origins[t] + y * scale * rowStride;
      widenRow(data, row, row + tileRow, scale * depth, depth);
      for (let r = 1; r < scale; r++) data.copyWithin(row + r * rowStride, row, row + tileRow);
    }
  }
}

/** Each pixel at the start of its `pixel`-byte run repeated over the run. */
function widenRow(data: Uint8Array, start: number, end: number, pixel: number, depth: number): void {
  for (let p = start; p < end; p += pixel) for (let q = p + depth; q < p + pixel; q++) data[q] = data[q - depth];
}

export interface FeatureMapGridOptions {
  channels: number[];
  normalize: MapNormalize;
  lut: Lut;
  /** Tiles smaller than this (pixels, short side) are enlarged by an integer factor. */
  minTile?: number;
  padding?: number;
  /** Draw each tile's channel index in its corner. */
  labels?: boolean;
  /** Computed by the caller when it needs them too (one pass over the activation). */
  stats?: ChannelStats;
}

/** The mosaic layout featureMapGrid uses, for callers that place things on its tiles. */
export function featureMapLayout(
  width: number,
  height: number,
  options: { minTile?: number; padding?: number },
): { scale: number; padding: number } {
  return { scale: scaleForMinSize(width, height, options.minTile ?? 64), padding: options.padding ?? 2 };
}

export function featureMapGrid(activation: Float32Array, shape: MapShape, options: FeatureMapGridOptions): PixelImage {
  const [h, w, c] = shape;
  const stats = options.stats ?? channelStats(activation, c);
  // 'map': each map on its own range, as imshow; 'layer': one range over every channel of the
  // layer, shown or not, so strengths compare.
  const layerRange: [number, number] = [Math.min(...stats.min), Math.max(...stats.max)];
  const spanOf = (channel: number): [number, number] =>
    options.normalize === 'layer' ? layerRange : [stats.min[channel], stats.max[channel]];
  const layout = featureMapLayout(w, h, options);
  const mosaic = mapMosaic(activation, shape, options.channels.map(spanOf), options.channels, options.lut, layout);
  const { cols } = mosaicGeometry(options.channels.length, w, h, layout);
  // A map holding NaN or infinities is crossed out: its picture is not what the layer computes.
  options.channels.forEach((channel, t) => {
    if (stats.nonFinite[channel] > 0)
      crossOut(mosaic, ...tileOrigin(t, w, h, cols, layout), w * layout.scale, h * layout.scale);
  });
  if (options.labels) {
    // Font pixels grow with the tile, so labels read the same on 224- and 14-pixel maps.
    const pixel = Math.max(1, Math.floor((Math.min(w, h) * layout.scale) / 48));
    options.channels.forEach((channel, t) => {
      const [left, top] = tileOrigin(t, w, h, cols, layout);
      if (labelSize(String(channel), pixel)[0] <= w * layout.scale)
        drawLabel(mosaic, String(channel), left, top, pixel);
    });
  }
  return mosaic;
}
