/**
 * The feature-maps picture: chosen channels of one layer's activation (H, W, C) as a
 * near-square mosaic of colour-mapped tiles, as the tutorial's 8x8 imshow grid.
 */
import { isGray, lutIndex, type Lut } from './colormap.js';
import { drawLabel, labelSize } from './labels.js';
import type { MapShape } from '../net/net.js';
import { makeMosaic, mosaicGeometry, scaleForMinSize, tileOrigin, type PixelImage } from './mosaic.js';

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

/** Each channel's min, max and mean of its finite values, and its count of others, in one pass over a channels-last activation. */
export function channelStats(activation: Float32Array, channels: number): ChannelStats {
  const min = new Float32Array(channels).fill(Infinity);
  const max = new Float32Array(channels).fill(-Infinity);
  const sum = new Float64Array(channels);
  const nonFinite = new Uint32Array(channels);
  for (let i = 0; i < activation.length; i += channels) {
    for (let c = 0; c < channels; c++) {
      const v = activation[i + c];
      // v - v is 0 for every finite number, NaN for NaN and the infinities.
      if (v - v !== 0) {
        nonFinite[c]++;
        continue;
      }
      if (v < min[c]) min[c] = v;
      if (v > max[c]) max[c] = v;
      sum[c] += v;
    }
  }
  const pixels = activation.length / channels;
  return { min, max, mean: Float32Array.from(sum, (s, c) => s / (pixels - nonFinite[c])), nonFinite };
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
  const gray = isGray(options.lut);
  const tiles = options.channels.map((channel) =>
    mapTile(activation, shape, channel, spanOf(channel), options.lut, gray),
  );
  const layout = featureMapLayout(w, h, options);
  const mosaic = makeMosaic(tiles, layout);
  const { cols } = mosaicGeometry(tiles.length, w, h, layout);
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
