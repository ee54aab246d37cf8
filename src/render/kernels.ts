/**
 * The filters picture: a conv kernel (kh, kw, in, out) as a grid with one row per filter and
 * one column per input channel, as the tutorial plots `layer.get_weights()[0]`.
 */
import { colorize, type Lut } from './colormap.js';
import { makeMosaic, scaleForMinSize, type PixelImage } from './mosaic.js';
import { minMax, rescale } from './normalize.js';
import type { KernelShape } from '../net/net.js';

export type KernelNormalize = 'layer' | 'filter' | 'channel';

/** The (kh, kw) slice of filter `f`, input channel `c`. */
export function kernelSlice(
  kernel: Float32Array,
  [kh, kw, cin, cout]: KernelShape,
  f: number,
  c: number,
): Float32Array {
  const out = new Float32Array(kh * kw);
  for (let i = 0; i < kh * kw; i++) out[i] = kernel[(i * cin + c) * cout + f];
  return out;
}

export interface FilterGridOptions {
  filters: number;
  channels: number;
  normalize: KernelNormalize;
  lut: Lut;
  /** Pixels per tile side. */
  cell: number;
  /** One colour tile per filter from its 3 input channels; channel order as stored. */
  rgb?: boolean;
  /** With rgb: true when the channels are stored B, G, R (caffe-preprocessed models). */
  bgr?: boolean;
  padding?: number;
}

/** The range each tile is scaled by, per the normalisation mode. */
function rangeFor(
  kernel: Float32Array,
  shape: KernelShape,
  mode: KernelNormalize,
  f: number,
  slice: Float32Array,
  channels: number,
): [number, number] {
  if (mode === 'channel') return minMax(slice);
  if (mode === 'filter') {
    const all = Array.from({ length: channels }, (_, c) => minMax(kernelSlice(kernel, shape, f, c)));
    return [Math.min(...all.map((r) => r[0])), Math.max(...all.map((r) => r[1]))];
  }
  return minMax(kernel);
}

export function filterGrid(kernel: Float32Array, shape: KernelShape, options: FilterGridOptions): PixelImage {
  const [kh, kw] = shape;
  const scale = scaleForMinSize(kw, kh, options.cell);
  const tiles: PixelImage[] = [];
  for (let f = 0; f < options.filters; f++) {
    if (options.rgb) {
      // Scale the filter's 3 channels together, so the colour balance is kept.
      const planes = [0, 1, 2].map((c) => kernelSlice(kernel, shape, f, c));
      const mode = options.normalize === 'channel' ? 'filter' : options.normalize;
      const range = rangeFor(kernel, shape, mode, f, planes[0], 3);
      const [p0, p1, p2] = planes.map((p) => rescale(p, range));
      const [r, g, b] = options.bgr ? [p2, p1, p0] : [p0, p1, p2];
      const data = new Uint8Array(kh * kw * 3);
      for (let i = 0; i < kh * kw; i++)
        data.set(
          [r[i], g[i], b[i]].map((v) => Math.round(v * 255)),
          3 * i,
        );
      tiles.push({ width: kw, height: kh, channels: 3, data });
      continue;
    }
    for (let c = 0; c < options.channels; c++) {
      const slice = kernelSlice(kernel, shape, f, c);
      const scaled = rescale(slice, rangeFor(kernel, shape, options.normalize, f, slice, options.channels));
      tiles.push(colorize(scaled, kw, kh, options.lut));
    }
  }
  const nrow = options.rgb ? Math.ceil(Math.sqrt(options.filters)) : options.channels;
  return makeMosaic(tiles, { nrow, scale, padding: options.padding ?? 2 });
}
