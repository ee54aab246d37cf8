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
  min: Float32Array;
  max: Float32Array;
  mean: Float32Array;
}

/** Each channel's min, max and mean in one pass over a channels-last activation. */
export function channelStats(activation: Float32Array, channels: number): ChannelStats {
  const min = new Float32Array(channels).fill(Infinity);
  const max = new Float32Array(channels).fill(-Infinity);
  const sum = new Float64Array(channels);
  for (let i = 0; i < activation.length; i += channels) {
    for (let c = 0; c < channels; c++) {
      const v = activation[i + c];
      if (v < min[c]) min[c] = v;
      if (v > max[c]) max[c] = v;
      sum[c] += v;
    }
  }
  const pixels = activation.length / channels;
  return { min, max, mean: Float32Array.from(sum, (s) => s / pixels) };
}

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
  if (order === 'activity') all.sort((a, b) => stats.mean[b] - stats.mean[a] || a - b);
  return all.slice(0, Math.min(count, all.length));
}

/** Per-layer numbers for reports: mean activation and the share of constant (dead) maps. */
export function layerStatistics(stats: ChannelStats): { mean: number; deadShare: number } {
  const channels = stats.mean.length;
  let dead = 0;
  let sum = 0;
  for (let c = 0; c < channels; c++) {
    if (stats.max[c] === stats.min[c]) dead++;
    sum += stats.mean[c];
  }
  return { mean: sum / channels, deadShare: dead / channels };
}

/**
 * One map as a tile, scaled by `range` and looked up in the table in a single pass (the
 * same result as featureMap, rescale and colorize, without their intermediate arrays).
 */
export function mapTile(activation: Float32Array, [h, w, c]: MapShape, channel: number, [min, max]: [number, number], lut: Lut, gray = isGray(lut)): PixelImage {
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
export function featureMapLayout(width: number, height: number, options: { minTile?: number; padding?: number }): { scale: number; padding: number } {
  return { scale: scaleForMinSize(width, height, options.minTile ?? 64), padding: options.padding ?? 2 };
}

export function featureMapGrid(activation: Float32Array, shape: MapShape, options: FeatureMapGridOptions): PixelImage {
  const [h, w, c] = shape;
  const stats = options.stats ?? channelStats(activation, c);
  // 'map': each map on its own range, as imshow; 'layer': one range over every channel of the
  // layer, shown or not, so strengths compare.
  const layerRange: [number, number] = [Math.min(...stats.min), Math.max(...stats.max)];
  const gray = isGray(options.lut);
  const tiles = options.channels.map((channel) =>
    mapTile(activation, shape, channel, options.normalize === 'layer' ? layerRange : [stats.min[channel], stats.max[channel]], options.lut, gray),
  );
  const layout = featureMapLayout(w, h, options);
  const mosaic = makeMosaic(tiles, layout);
  if (options.labels) {
    const { cols } = mosaicGeometry(tiles.length, w, h, layout);
    // Font pixels grow with the tile, so labels read the same on 224- and 14-pixel maps.
    const pixel = Math.max(1, Math.floor((Math.min(w, h) * layout.scale) / 48));
    options.channels.forEach((channel, t) => {
      const [left, top] = tileOrigin(t, w, h, cols, layout);
      if (labelSize(String(channel), pixel)[0] <= w * layout.scale) drawLabel(mosaic, String(channel), left, top, pixel);
    });
  }
  return mosaic;
}
