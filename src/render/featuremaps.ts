/**
 * The feature-maps picture: chosen channels of one layer's activation (H, W, C) as a
 * near-square mosaic of colour-mapped tiles, as the tutorial's 8x8 imshow grid.
 */
import { isGray, lutIndex, type Lut } from './colormap.js';
import { makeMosaic, scaleForMinSize, type PixelImage } from './mosaic.js';

export type MapShape = [height: number, width: number, channels: number];
export type MapNormalize = 'map' | 'layer';

/** Channel `c` of a channels-last activation, as an (H, W) plane. */
export function featureMap(activation: Float32Array, [h, w, c]: MapShape, channel: number): Float32Array {
  const out = new Float32Array(h * w);
  for (let i = 0; i < h * w; i++) out[i] = activation[i * c + channel];
  return out;
}

export interface FeatureMapGridOptions {
  channels: number[];
  normalize: MapNormalize;
  lut: Lut;
  /** Tiles smaller than this (pixels, short side) are enlarged by an integer factor. */
  minTile?: number;
  padding?: number;
}

/** Each channel's [min, max] in one pass over a channels-last activation. */
export function channelRanges(activation: Float32Array, channels: number): Array<[number, number]> {
  const min = new Float32Array(channels).fill(Infinity);
  const max = new Float32Array(channels).fill(-Infinity);
  for (let i = 0; i < activation.length; i += channels) {
    for (let c = 0; c < channels; c++) {
      const v = activation[i + c];
      if (v < min[c]) min[c] = v;
      if (v > max[c]) max[c] = v;
    }
  }
  return Array.from(min, (m, c) => [m, max[c]]);
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

export function featureMapGrid(activation: Float32Array, shape: MapShape, options: FeatureMapGridOptions): PixelImage {
  const [h, w, c] = shape;
  // 'map': each map on its own range, as imshow; 'layer': one range over every channel of the
  // layer, shown or not, so strengths compare.
  const ranges = channelRanges(activation, c);
  const layerRange: [number, number] = [Math.min(...ranges.map((r) => r[0])), Math.max(...ranges.map((r) => r[1]))];
  const gray = isGray(options.lut);
  const tiles = options.channels.map((channel) => mapTile(activation, shape, channel, options.normalize === 'layer' ? layerRange : ranges[channel], options.lut, gray));
  return makeMosaic(tiles, { scale: scaleForMinSize(w, h, options.minTile ?? 64), padding: options.padding ?? 2 });
}
