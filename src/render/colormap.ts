/**
 * Colormaps as 256-entry lookup tables. The perceptual maps are matplotlib's own tables, as
 * d3-scale-chromatic ships them (viridis, magma, inferno, plasma, cividis are 256 exact colours).
 */
import * as chromatic from 'd3-scale-chromatic';
import { rgb } from 'd3-color';
import { COLORMAPS, type ColormapName } from './colormap-names.js';

/** 256 RGB triples, flat: lut[3 * i + c]. */
export type Lut = Uint8Array;

const INTERPOLATORS: Record<Exclude<ColormapName, 'gray'>, (t: number) => string> = {
  viridis: chromatic.interpolateViridis,
  magma: chromatic.interpolateMagma,
  inferno: chromatic.interpolateInferno,
  plasma: chromatic.interpolatePlasma,
  cividis: chromatic.interpolateCividis,
  turbo: chromatic.interpolateTurbo,
  coolwarm: (t) => chromatic.interpolateRdBu(1 - t),
};

export { COLORMAPS, type ColormapName };

export function colormapLut(name: ColormapName): Lut {
  const lut = new Uint8Array(256 * 3);
  const interpolate = name === 'gray' ? undefined : INTERPOLATORS[name];
  for (let i = 0; i < 256; i++) {
    if (!interpolate) {
      lut.fill(i, 3 * i, 3 * i + 3);
      continue;
    }
    // Sampling at bin centres reads each of matplotlib's 256 colours exactly once.
    const { r, g, b } = rgb(interpolate((i + 0.5) / 256));
    lut.set([r, g, b], 3 * i);
  }
  return lut;
}

/** Maps values in [0, 1] (a normalised map or kernel slice) to RGB bytes. */
export function applyColormap(values: Float32Array, lut: Lut): Uint8Array {
  const out = new Uint8Array(values.length * 3);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    const index = v >= 1 ? 255 : v > 0 ? Math.floor(v * 256) : 0;
    out[3 * i] = lut[3 * index];
    out[3 * i + 1] = lut[3 * index + 1];
    out[3 * i + 2] = lut[3 * index + 2];
  }
  return out;
}
