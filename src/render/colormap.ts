/**
 * Colormaps as 256-entry lookup tables. The perceptual maps are matplotlib's own tables, as
 * d3-scale-chromatic ships them (viridis, magma, inferno, plasma, cividis are 256 exact colours),
 * sampled at the bins' centres and embedded (colormap-tables.ts, checked against d3 by the
 * tests): loading d3's modules took 24-55 ms of every run that draws, grey ones included.
 */
import { COLORMAPS, type ColormapName } from './colormap-names.js';
import { COLORMAP_TABLES } from './colormap-tables.js';
import type { PixelImage } from './mosaic.js';

/** 256 RGB triples, flat: lut[3 * i + c]. */
export type Lut = Uint8Array;

export { COLORMAPS, type ColormapName };

/** The 'gray' table: each entry its own grey level. */
const GREY_RAMP: Lut = Uint8Array.from({ length: 256 * 3 }, (_, i) => Math.floor(i / 3));

export function colormapLut(name: ColormapName): Lut {
  if (name === 'gray') return GREY_RAMP.slice();
  return Uint8Array.from(Buffer.from(COLORMAP_TABLES[name], 'base64'));
}

/** The table entry of a value in [0, 1]: 256 equal bins, clamped at the ends. */
export function lutIndex(v: number): number {
  return v >= 1 ? 255 : v > 0 ? Math.floor(v * 256) : 0;
}

/**
 * An image from values in [0, 1] (a normalised map or kernel slice): grey tables give one
 * channel (a third of the bytes to encode), colour tables RGB.
 */
export function colorize(values: Float32Array, width: number, height: number, lut: Lut): PixelImage {
  if (isGray(lut)) {
    const grey = new Uint8Array(values.length);
    for (let i = 0; i < values.length; i++) grey[i] = lut[3 * lutIndex(values[i])];
    return { width, height, channels: 1, data: grey };
  }
  const out = new Uint8Array(values.length * 3);
  for (let i = 0; i < values.length; i++) {
    const index = 3 * lutIndex(values[i]);
    out[3 * i] = lut[index];
    out[3 * i + 1] = lut[index + 1];
    out[3 * i + 2] = lut[index + 2];
  }
  return { width, height, channels: 3, data: out };
}

/** Whether the table is the 'gray' one (the grey mosaics' WebAssembly kernel paints only it). */
export const isGreyRamp = (lut: Lut): boolean =>
  lut.length === GREY_RAMP.length && lut.every((v, i) => v === GREY_RAMP[i]);

export function isGray(lut: Lut): boolean {
  for (let i = 0; i < 256; i++) if (lut[3 * i] !== lut[3 * i + 1] || lut[3 * i] !== lut[3 * i + 2]) return false;
  return true;
}
