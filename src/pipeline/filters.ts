/**
 * The filters picture, as the filters command and the report both draw it: a convolution's
 * kernel as a grid (a row per filter, a column per input channel) or as colour tiles, with
 * the words that say what it shows.
 */
import type { Kernel } from '../net/net.js';
import { colormapLut, type ColormapName } from '../render/colormap.js';
import { filterGrid, type KernelNormalize } from '../render/kernels.js';
import type { PixelImage } from '../render/mosaic.js';

export interface FilterPictureOptions {
  /** Filters (rows) and input channels (columns) wanted; clamped to what the kernel has. */
  count: number;
  channels: number;
  normalize: KernelNormalize;
  colormap: ColormapName;
  cell: number;
  /** One colour tile per filter of a 3-channel kernel. */
  rgb?: boolean;
  /** With rgb: the kernel's channels are stored B, G, R. */
  bgr?: boolean;
}

export interface FilterPicture {
  image: PixelImage;
  /** How many filters and channels are drawn, after clamping. */
  filters: number;
  channels: number;
  /** What the picture shows, in a line. */
  shows: string;
}

export function filterPicture(layer: string, kernel: Kernel, options: FilterPictureOptions): FilterPicture {
  const [kh, kw, cin, cout] = kernel.shape;
  const filters = Math.min(options.count, cout);
  const channels = options.rgb ? 3 : Math.min(options.channels, cin);
  const image = filterGrid(kernel.data, kernel.shape, {
    filters,
    channels,
    normalize: options.normalize,
    lut: colormapLut(options.colormap),
    cell: options.cell,
    rgb: options.rgb,
    bgr: options.bgr,
  });
  const of = (n: number, total: number) => (n === total ? `${n}` : `${n} of ${total}`);
  const shows = options.rgb
    ? `${layer} kernel ${kh}x${kw}x${cin}x${cout}: ${of(filters, cout)} filters as colour tiles (channels stored ${options.bgr ? 'B,G,R; shown as R,G,B' : 'R,G,B'}), normalize ${options.normalize}`
    : `${layer} kernel ${kh}x${kw}x${cin}x${cout}: ${of(filters, cout)} filters (rows) x ${of(channels, cin)} input channels (columns), normalize ${options.normalize}, ${options.colormap}`;
  return { image, filters, channels, shows };
}
