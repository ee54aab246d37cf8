/**
 * Lays RGB tiles out in a grid, after torchvision's `make_grid`: `nrow` tiles per row,
 * `padding` pixels of `padValue` between and around them, each tile enlarged by an integer
 * `scale` with nearest neighbour so small maps and 3x3 kernels stay crisp.
 */
import type { RgbImage } from '../image/decode.js';

export interface MosaicOptions {
  /** Tiles per row; default: a near-square grid (8 for 64 tiles). */
  nrow?: number;
  /** Pixels between tiles and around the grid. */
  padding?: number;
  padValue?: [number, number, number];
  /** Integer upscaling factor for every tile. */
  scale?: number;
}

export interface MosaicGeometry {
  rows: number;
  cols: number;
  width: number;
  height: number;
}

export function mosaicGeometry(count: number, tileWidth: number, tileHeight: number, options: MosaicOptions = {}): MosaicGeometry {
  const padding = options.padding ?? 2;
  const scale = options.scale ?? 1;
  const cols = Math.max(1, Math.min(options.nrow ?? Math.ceil(Math.sqrt(count)), count));
  const rows = Math.max(1, Math.ceil(count / cols));
  return {
    rows,
    cols,
    width: cols * (tileWidth * scale + padding) + padding,
    height: rows * (tileHeight * scale + padding) + padding,
  };
}

/** The smallest integer scale that makes a tile at least `minSize` pixels on its short side. */
export function scaleForMinSize(tileWidth: number, tileHeight: number, minSize: number): number {
  return Math.max(1, Math.ceil(minSize / Math.min(tileWidth, tileHeight)));
}

export function makeMosaic(tiles: RgbImage[], options: MosaicOptions = {}): RgbImage {
  if (tiles.length === 0) throw new Error('a mosaic needs at least one tile');
  const { width: tw, height: th } = tiles[0];
  const padding = options.padding ?? 2;
  const scale = options.scale ?? 1;
  const [pr, pg, pb] = options.padValue ?? [255, 255, 255];
  const { cols, width, height } = mosaicGeometry(tiles.length, tw, th, options);
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i += 3) {
    data[i] = pr;
    data[i + 1] = pg;
    data[i + 2] = pb;
  }
  tiles.forEach((tile, t) => {
    if (tile.width !== tw || tile.height !== th) throw new Error('mosaic tiles must share one size');
    const left = padding + (t % cols) * (tw * scale + padding);
    const top = padding + Math.floor(t / cols) * (th * scale + padding);
    for (let y = 0; y < th * scale; y++) {
      const sourceRow = Math.floor(y / scale) * tw;
      const targetRow = (top + y) * width + left;
      for (let x = 0; x < tw * scale; x++) {
        const s = (sourceRow + Math.floor(x / scale)) * 3;
        const d = (targetRow + x) * 3;
        data[d] = tile.data[s];
        data[d + 1] = tile.data[s + 1];
        data[d + 2] = tile.data[s + 2];
      }
    }
  });
  return { width, height, data };
}
