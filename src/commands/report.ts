import { Command, Option } from 'commander';
import { join, basename } from 'node:path';
import type { CommandContext, Runner } from './context.js';
import { addModelOptions, addPictureOptions, countOrAll, examples, type ModelOptions, type PictureOptions } from './options.js';
import { prepareOutputDir, reportFiles, withDownloadProgress, type WrittenFile } from './output.js';
import { PREPROCESS_MODES, type PreprocessMode } from '../image/preprocess.js';
import type { EngineName } from '../engines/backend.js';
import type { MapNormalize, MapOrder } from '../render/featuremaps.js';

interface ReportOptions extends ModelOptions, PictureOptions {
  blocks?: string;
  layer?: string[];
  count: number;
  normalize: MapNormalize;
  sort: MapOrder;
  preprocess?: PreprocessMode;
}

export function reportCommand(run: Runner): Command {
  const command = new Command('report')
    .description('write a self-contained HTML report: the input, the layer table, the first filters, and the maps of every block')
    .argument('<image>', 'image file')
    .option('-b, --blocks <all|list>', "blocks to show (default: all, or the first spatial layer for a model without pooling)")
    .option('-l, --layer <name|index...>', 'layers by name or Keras index instead of blocks')
    .option('-n, --count <n|all>', 'maps per layer', countOrAll, 64)
    .addOption(new Option('--normalize <mode>', "each map on its own range, or one range per layer").choices(['map', 'layer']).default('map'))
    .addOption(new Option('--sort <order>', "the first maps ('index') or the most active ('activity')").choices(['index', 'activity']).default('index'))
    .addOption(new Option('--preprocess <mode>', "input scaling; default: the model's own").choices(PREPROCESS_MODES));
  addModelOptions(addPictureOptions(command, 'colormap for the maps'))
    .addHelpText('after', examples(['cnnviz report fixtures/cat.jpg -o report/', 'cnnviz report cat.jpg --sort activity --count 32 --colormap viridis']))
    .action((image: string, options: ReportOptions) => run((ctx) => report(image, options, ctx)));
  return command;
}

async function report(imagePath: string, options: ReportOptions, ctx: CommandContext): Promise<void> {
  const { planFeatures, startFeatureEngine } = await import('../pipeline/features.js');
  const { decodeImage } = await import('../image/decode.js');
  const { resizeImage } = await import('../image/resize.js');
  const { isConvolution } = await import('../formats/keras/shapes.js');
  const { summarize, formatShape } = await import('../net/summary.js');
  const { randomWeights } = await import('../engines/tfjs.js');
  const { cacheDir } = await import('../weights/resolve.js');
  const { channelStats, featureMapGrid, featureMapLayout, layerStatistics, selectChannels } = await import('../render/featuremaps.js');
  const { filterGrid } = await import('../render/kernels.js');
  const { colormapLut } = await import('../render/colormap.js');
  const { tileBoxes } = await import('../render/mosaic.js');
  const { reportHtml } = await import('../render/report.js');
  const { writeFileAtomic, writePng } = await import('../output/files.js');

  const plan = await planFeatures({ ...options, blocks: options.blocks ?? (options.layer ? undefined : 'auto'), layers: options.layer });
  const { graph, layers, mapShapes, input, shapes } = plan;
  const image = await resizeImage(await decodeImage(imagePath), input.width, input.height, 'nearest');
  await prepareOutputDir(options.output);
  const engine = await withDownloadProgress(ctx.report, (download) =>
    startFeatureEngine(plan, { engine: ctx.global.backend as EngineName, weights: options.weights, onnxCacheDir: join(cacheDir(), 'onnx'), explain: ctx.report.verbose, download }),
  );
  if (engine.weights.identity?.startsWith('random')) ctx.report.notice(`weights: ${engine.weights.description}; the report shows an untrained network`);
  const [activations] = await engine.activations([image]);
  const lut = colormapLut(options.colormap);
  const written: WrittenFile[] = [];
  const write = async (name: string, picture: Parameters<typeof writePng>[1], shows: string) => {
    const path = join(options.output, name);
    written.push({ path, bytes: await writePng(path, picture), shows });
    return name;
  };

  const inputName = await write('input.png', { ...image, channels: 3 }, `the input as the model saw it, ${input.width}x${input.height}`);
  const reportLayers = await Promise.all(
    layers.map(async (name, o) => {
      const [h, w, c] = mapShapes[o];
      const stats = channelStats(activations[o], c);
      const channels = selectChannels(stats, options.count, options.sort);
      const mosaic = featureMapGrid(activations[o], [h, w, c], { channels, normalize: options.normalize, lut, labels: options.sort === 'activity', stats });
      const boxes = tileBoxes(channels.length, w, h, featureMapLayout(w, h, {}));
      const file = await write(`maps-${name}.png`, mosaic, `${name} ${h}x${w}: ${channels.length} of ${c} maps`);
      return {
        name,
        outputShape: formatShape(shapes.get(name)!.outputShape),
        image: file,
        imageSize: [mosaic.width, mosaic.height] as [number, number],
        shown: channels.length,
        total: c,
        normalize: options.normalize,
        ...(({ mean, deadShare }) => ({ meanActivation: mean, deadShare }))(layerStatistics(stats)),
        tiles: channels.map((channel, t) => [channel, ...boxes[t]] as [number, number, number, number, number]),
      };
    }),
  );

  // The first convolution's kernels: colour tiles for an RGB input layer, else a grey grid.
  const firstConv = graph.layers.find(isConvolution);
  let filters: { image: string; layer: string; caption: string } | undefined;
  if (firstConv) {
    const values = await engine.weights.read();
    const weights = values === 'random' ? await randomWeights(graph, [firstConv.name]) : values;
    const [kernel] = weights.get(firstConv.name) ?? [];
    if (kernel?.shape.length === 4) {
      const [kh, kw, cin, cout] = kernel.shape;
      const rgb = cin === 3;
      const count = Math.min(cout, rgb ? 64 : 16);
      const bgr = plan.arch.builtin?.preprocess === 'caffe';
      const grid = filterGrid(kernel.data, kernel.shape as [number, number, number, number], { filters: count, channels: Math.min(cin, 8), normalize: 'layer', lut: colormapLut('gray'), cell: 24, rgb, bgr });
      const caption = rgb
        ? `${count} of ${cout} filters (${kh}x${kw}) as colour tiles${bgr ? ' (weights expect B, G, R; shown as R, G, B)' : ''}, one min-max over the layer`
        : `${count} of ${cout} filters (rows) by ${Math.min(cin, 8)} of ${cin} input channels (columns), one min-max over the layer`;
      filters = { image: await write('filters.png', grid, `${firstConv.name} filters`), layer: firstConv.name, caption };
    }
  }
  await engine.dispose();

  const html = reportHtml({
    title: `cnnviz report: ${basename(imagePath)} through ${graph.name}`,
    model: graph.name,
    weights: engine.weights.description,
    engine: engine.forward.engine,
    input: { image: inputName, source: basename(imagePath), width: input.width, height: input.height, preprocessing: plan.preprocessing },
    summary: summarize(graph),
    filters,
    layers: reportLayers,
  });
  const index = join(options.output, 'index.html');
  await writeFileAtomic(index, new TextEncoder().encode(html));
  written.unshift({ path: index, bytes: Buffer.byteLength(html), shows: `the report: open it in a browser (${reportLayers.length} layers)` });
  reportFiles(written, false, ctx.report, {});
}
