/**
 * Dataset-example pictures, pure pixels: a channel's strongest crops in a row (strongest
 * first), optionally the whole images beneath with each field outlined, and an overview with a
 * row per channel, each row labelled with its channel.
 */
import { drawLabel } from './labels.js';
import { makeMosaic, tileOrigin, type PixelImage } from './mosaic.js';

/** Pixels on a side of an example as drawn: from a thumbnail to a large print. */
export const TILE_RANGE = [8, 1024] as const;

const PADDING = 2;
/** Between rows and around the picture: white, as the mosaics. */
const PAD_VALUE = 255;
/** A place no example fills (fewer images than --top): mid grey. */
const EMPTY_VALUE = 160;

const blank = (size: number): PixelImage => ({
  width: size,
  height: size,
  channels: 3,
  data: new Uint8Array(size * size * 3).fill(EMPTY_VALUE),
});

/** Tiles padded to `columns` per row with blank tiles. */
const row = (tiles: PixelImage[], columns: number, size: number): PixelImage[] => [
  ...tiles,
  ...Array.from({ length: Math.max(0, columns - tiles.length) }, () => blank(size)),
];

/** Draws a rectangle outline [x, y, w, h] in `color`, `thickness` pixels inside its edge; in place, clipped. */
export function outlineRect(
  image: PixelImage,
  [x, y, w, h]: [number, number, number, number],
  color: [number, number, number],
  thickness = 2,
): void {
  const set = (px: number, py: number) => {
    if (px < 0 || py < 0 || px >= image.width || py >= image.height) return;
    const at = (py * image.width + px) * image.channels;
    for (let c = 0; c < image.channels; c++) image.data[at + c] = color[c % 3];
  };
  for (let t = 0; t < thickness; t++) {
    for (let px = x; px < x + w; px++) {
      set(px, y + t);
      set(px, y + h - 1 - t);
    }
    for (let py = y; py < y + h; py++) {
      set(x + t, py);
      set(x + w - 1 - t, py);
    }
  }
}

/** One channel: its crops in a row of `columns`, and under them the images they came from (when given). */
export function channelPicture(
  crops: PixelImage[],
  contexts: PixelImage[] | undefined,
  columns: number,
  size: number,
): PixelImage {
  const tiles = [...row(crops, columns, size), ...(contexts ? row(contexts, columns, size) : [])];
  return makeMosaic(tiles, { nrow: columns, padding: PADDING, padValue: PAD_VALUE });
}

/** A row of crops per channel, the channel's index drawn at the start of its row. */
export function overviewPicture(
  rows: Array<{ channel: number; crops: PixelImage[] }>,
  columns: number,
  size: number,
): PixelImage {
  const picture = makeMosaic(
    rows.flatMap((r) => row(r.crops, columns, size)),
    { nrow: columns, padding: PADDING, padValue: PAD_VALUE },
  );
  rows.forEach((r, i) => {
    const [left, top] = tileOrigin(i * columns, size, size, columns, { padding: PADDING });
    drawLabel(picture, String(r.channel), left, top, size >= 64 ? 2 : 1);
  });
  return picture;
}
