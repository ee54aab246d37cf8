/**
 * The filters picture, as the filters command and the report both draw it: a convolution's
 * kernel as a grid (a row per filter, a column per input channel) or as colour tiles, with
 * the words that say what it shows.
 */
import { usageError } from '../errors.js';
import { openModel } from '../formats/model.js';
import { findLayer } from '../net/lookup.js';
import { isConvolution, type Kernel } from '../net/net.js';
import { outputPath, prepareOutputDir, writePng, type WrittenFile } from '../output/files.js';
import { fileSafe } from '../output/names.js';
import { timed } from '../timings.js';
import type { DownloadCallbacks } from '../weights/resolve.js';
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

export interface DrawFiltersRequest extends Omit<FilterPictureOptions, 'bgr'> {
  model: string;
  /** A convolution by name or index; default the first. */
  layer?: string;
  weights: string;
  size?: [number, number];
  /** --input: values for a graph model's inputs other than the image. */
  input?: Record<string, number>;
  output: string;
  cacheDir?: string;
  download?: DownloadCallbacks;
}

export interface FiltersEvents {
  notice(line: string): void;
  verbose(line: string): void;
}

/** The filters command's work: find the convolution, read its kernel, draw and write the grid. */
export async function drawFilters(
  request: DrawFiltersRequest,
  events: FiltersEvents,
): Promise<{ file: WrittenFile; model: string; weights: string }> {
  const model = await openModel(request.model, {
    includeTop: false,
    size: request.size,
    inputs: request.input,
    cacheDir: request.cacheDir,
    readsWeights: true,
  });
  model.checkChoices({ weights: request.weights });
  model.details.forEach(events.verbose);
  const convs = model.net.layers.filter(isConvolution);
  const layerRef = request.layer ?? convs[0]?.name;
  if (!layerRef) throw usageError(`${model.net.name} has no convolutional layers, so no filters to draw`);
  const layer = findLayer(model.net, layerRef, convs, 'convolutional layer');
  await prepareOutputDir(request.output);

  const { kernel, weights } = await model.readKernel(layer.name, {
    weights: request.weights,
    download: request.download,
  });
  events.verbose(`weights: ${weights.description}`);
  const [, , cin, cout] = kernel.shape;
  if (request.rgb && cin !== 3) throw usageError(`--rgb needs a layer with 3 input channels; ${layer.name} has ${cin}`);
  for (const [asked, available, what] of [
    [request.count, cout, 'filters'],
    [request.rgb ? 3 : request.channels, cin, 'input channels'],
  ] as const) {
    if (asked > available && Number.isFinite(asked))
      events.notice(`${layer.name} has ${available} ${what}; drawing ${available}`);
  }
  const picture = filterPicture(layer.name, kernel, { ...request, bgr: model.bgr });
  const path = outputPath(request.output, `filters-${fileSafe(layer.name)}${request.rgb ? '-rgb' : ''}.png`);
  const bytes = await timed('encode+write', () => writePng(path, picture.image));
  if (weights.random) events.notice(`weights: ${weights.description}; the kernels are not learned`);
  return {
    file: { path, bytes, shows: `${picture.shows}${weights.random ? ', RANDOM weights' : ''}` },
    model: model.net.name,
    weights: weights.description,
  };
}
