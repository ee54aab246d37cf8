/**
 * The feature-maps picture: chosen channels of one layer's activation (H, W, C) as a
 * near-square mosaic of colour-mapped tiles, as the tutorial's 8x8 imshow grid.
 */
import type { RgbImage } from '../image/decode.js';
import { applyColormap, type Lut } from './colormap.js';
import { makeMosaic, scaleForMinSize } from './mosaic.js';
import { minMax, rescale } from './normalize.js';

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

export function featureMapGrid(activation: Float32Array, shape: MapShape, options: FeatureMapGridOptions): RgbImage {
  const [h, w] = shape;
  // 'layer': one range over every channel of the layer, shown or not, so strengths compare.
  const layerRange = options.normalize === 'layer' ? minMax(activation) : undefined;
  const tiles = options.channels.map((channel) => {
    const plane = featureMap(activation, shape, channel);
    const scaled = rescale(plane, layerRange ?? minMax(plane));
    return { width: w, height: h, data: applyColormap(scaled, options.lut) };
  });
  return makeMosaic(tiles, { scale: scaleForMinSize(w, h, options.minTile ?? 64), padding: options.padding ?? 2 });
}
