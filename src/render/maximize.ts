/**
 * The overview of feature visualizations: one picture per channel in a near-square grid, each
 * enlarged (nearest) to at least 128 px and labelled with its channel, as Microscope lays them out.
 */
import { drawLabel } from './labels.js';
import { makeMosaic, mosaicGeometry, scaleForMinSize, tileOrigin, type PixelImage } from './mosaic.js';

const OPTIONS = { padding: 4, padValue: 255 };

/** `perRow`: tiles per row (a channel's diverse pictures in one row); default a near-square grid. */
export function visualizationOverview(tiles: PixelImage[], channels: number[], perRow?: number): PixelImage {
  const { width, height } = tiles[0];
  const options = { ...OPTIONS, scale: scaleForMinSize(width, height, 128), ...(perRow ? { nrow: perRow } : {}) };
  const picture = makeMosaic(tiles, options);
  const { cols } = mosaicGeometry(tiles.length, width, height, options);
  channels.forEach((channel, t) => {
    const [left, top] = tileOrigin(t, width, height, cols, options);
    drawLabel(picture, String(channel), left, top, 2);
  });
  return picture;
}
