/**
 * Lays tiles out in a grid, after torchvision's `make_grid`: `nrow` tiles per row,
 * `padding` pixels of `padValue` between and around them, each tile enlarged by an integer
 * `scale` with nearest neighbour so small maps and 3x3 kernels stay crisp.
 */

/** 8-bit pixels, row-major (height, width, channels): grey (1) or RGB (3). */
export interface PixelImage {
  width: number;
  height: number;
  channels: 1 | 3;
  data: Uint8Array;
}

export interface MosaicOptions {
  /** Tiles per row; default: a near-square grid (8 for 64 tiles). */
  nrow?: number;
  /** Pixels between tiles and around the grid. */
  padding?: number;
  /** The separators' grey level (0-255). */
  padValue?: number;
  /** Integer upscaling factor for every tile. */
  scale?: number;
}

export interface MosaicGeometry {
  rows: number;
  cols: number;
  width: number;
  height: number;
}

export function mosaicGeometry(
  count: number,
  tileWidth: number,
  tileHeight: number,
  options: MosaicOptions = {},
): MosaicGeometry {
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

/** Where tile `t` starts in the mosaic (its top-left pixel). */
export function tileOrigin(
  t: number,
  tileWidth: number,
  tileHeight: number,
  cols: number,
  options: MosaicOptions = {},
): [left: number, top: number] {
  const padding = options.padding ?? 2;
  const scale = options.scale ?? 1;
  return [
    padding + (t % cols) * (tileWidth * scale + padding),
    padding + Math.floor(t / cols) * (tileHeight * scale + padding),
  ];
}

export function makeMosaic(tiles: PixelImage[], options: MosaicOptions = {}): PixelImage {
  if (tiles.length === 0) throw new Error('a mosaic needs at least one tile');
  const { width: tw, height: th, channels } = tiles[0];
  const scale = options.scale ?? 1;
  const { cols, width, height } = mosaicGeometry(tiles.length, tw, th, options);
  const data = new Uint8Array(width * height * channels).fill(options.padValue ?? 255);
  const rowBytes = tw * channels;
  tiles.forEach((tile, t) => {
    if (tile.width !== tw || tile.height !== th || tile.channels !== channels)
      throw new Error('mosaic tiles must share one size and channel count');
    const [left, top] = tileOrigin(t, tw, th, cols, options);
    for (let y = 0; y < th; y++) {
      const target = ((top + y * scale) * width + left) * channels;
      if (scale === 1) {
        data.set(tile.data.subarray(y * rowBytes, (y + 1) * rowBytes), target);
        continue;
      }
      // Widen one source row, then copy it down `scale` times.
      for (let x = 0; x < tw; x++) {
        for (let c = 0; c < channels; c++) {
          const v = tile.data[(y * tw + x) * channels + c];
          for (let k = 0; k < scale; k++) data[target + (x * scale + k) * channels + c] = v;
        }
      }
      const widened = data.subarray(target, target + rowBytes * scale);
      for (let k = 1; k < scale; k++) data.copyWithin(target + k * width * channels, target, target + widened.length);
    }
  });
  return { width, height, channels, data };
}

/** Each tile's box in the mosaic, [left, top, width, height], for image maps and captions. */
export function tileBoxes(
  count: number,
  tileWidth: number,
  tileHeight: number,
  options: MosaicOptions = {},
): Array<[number, number, number, number]> {
  const { cols } = mosaicGeometry(count, tileWidth, tileHeight, options);
  const scale = options.scale ?? 1;
  return Array.from({ length: count }, (_, t) => [
    ...tileOrigin(t, tileWidth, tileHeight, cols, options),
    tileWidth * scale,
    tileHeight * scale,
  ]);
}
