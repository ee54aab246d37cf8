/**
 * The report's assembly: one forward pass of one image, a mosaic per chosen layer with its
 * numbers, the first convolution's filters, the layer table, and index.html beside the PNGs.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { basename, join, relative } from 'node:path';
import { usageError } from '../errors.js';
import { channelFile } from './examples/draw.js';
import { parseExamplesFile } from './examples/schema.js';
import { decodeImage } from '../image/decode.js';
import { resizeImage } from '../image/resize.js';
import type { EngineRequest } from '../formats/types.js';
import { formatShape, isConvolution } from '../net/net.js';
import { summarize } from '../net/summary.js';
import { outputPath, prepareOutputDir, writeFileAtomic, writePng, type WrittenFile } from '../output/files.js';
import { fileSafe } from '../output/names.js';
import { colormapLut, type ColormapName } from '../render/colormap.js';
import {
  channelStats,
  featureMapGrid,
  featureMapLayout,
  layerStatistics,
  selectChannels,
  type MapNormalize,
  type MapOrder,
} from '../render/featuremaps.js';
import { tileBoxes, type PixelImage } from '../render/mosaic.js';
import {
  reportHtml,
  type ReportExamples,
  type ReportLayer,
  type ReportMaximize,
  type ReportPrediction,
} from '../render/report.js';
import { parseMaximizeRecord } from './maximize/record.js';
import { camPlanFor, drawCams } from './cam.js';
import { classifierOf } from './classifier.js';
import { nonFiniteWatch, startFeatureEngine, type FeaturePlan } from './features.js';
import { filterPicture } from './filters.js';

export interface ReportOptions {
  output: string;
  count: number;
  normalize: MapNormalize;
  sort: MapOrder;
  colormap: ColormapName;
  /** An examples run's folder, linked in its own section. */
  examples?: string;
  /** Class names for the prediction (ImageNet's are built in for 1000 classes). */
  labels?: string;
  /** A maximize run's folder, linked in its own section (beside the examples of the same layer). */
  maximize?: string;
}

export interface ReportEvents {
  notice(line: string): void;
}

/** Writes the report; returns the files, index.html first. */
export async function writeReport(
  plan: FeaturePlan,
  imagePath: string,
  options: ReportOptions,
  request: EngineRequest,
  events: ReportEvents,
): Promise<WrittenFile[]> {
  const { net, layers, mapShapes, input } = plan;
  // Read first: a wrong --examples folder fails before any work.
  const examples = options.examples ? await examplesLinks(options.examples, options.output, net.name) : undefined;
  examples?.forEach((e) => e.note && events.notice(`--examples ${options.examples}: ${e.note}`));
  const maximize = options.maximize
    ? await maximizeLinks(options.maximize, options.output, net.name, examples ?? [])
    : undefined;
  maximize?.forEach((m) => m.note && events.notice(`--maximize ${options.maximize}: ${m.note}`));
  const image = await resizeImage(await decodeImage(imagePath), input.width, input.height, 'nearest');
  // The folder is made once the image and what the report links are known to be good.
  await prepareOutputDir(options.output);
  const engine = await startFeatureEngine(plan, request);
  let activations: Float32Array[];
  try {
    if (engine.weights.random)
      events.notice(`weights: ${engine.weights.description}; the report shows an untrained network`);
    [activations] = await engine.activations([image]);
  } finally {
    await engine.dispose();
  }
  const lut = colormapLut(options.colormap);
  const written: WrittenFile[] = [];
  const write = async (name: string, picture: PixelImage, shows: string) => {
    const path = outputPath(options.output, name);
    written.push({ path, bytes: await writePng(path, picture), shows });
    return name;
  };

  const inputName = await write(
    'input.png',
    { ...image, channels: 3 },
    `the input as the model saw it, ${input.width}x${input.height}`,
  );
  const layerStats = activations.map((activation, o) => channelStats(activation, mapShapes[o][2]));
  nonFiniteWatch(plan, events.notice)(imagePath, layerStats);
  const reportLayers = await Promise.all(
    layers.map(async (name, o): Promise<ReportLayer> => {
      const [h, w, c] = mapShapes[o];
      const stats = layerStats[o];
      const channels = selectChannels(stats, options.count, options.sort);
      const mosaic = featureMapGrid(activations[o], [h, w, c], {
        channels,
        normalize: options.normalize,
        lut,
        labels: options.sort === 'activity',
        stats,
      });
      const boxes = tileBoxes(channels.length, w, h, featureMapLayout(w, h, {}));
      const file = await write(
        `maps-${fileSafe(name)}.png`,
        mosaic,
        `${name} ${h}x${w}: ${channels.length} of ${c} maps`,
      );
      const { mean, deadShare } = layerStatistics(stats);
      return {
        name,
        outputShape: formatShape(net.layers.find((l) => l.name === name)!.outputShape),
        image: file,
        imageSize: [mosaic.width, mosaic.height],
        shown: channels.length,
        total: c,
        normalize: options.normalize,
        meanActivation: mean,
        deadShare,
        tiles: channels.map((channel, t) => [channel, ...boxes[t]] as [number, number, number, number, number]),
      };
    }),
  );

  // The first convolution's kernels: colour tiles for an RGB input layer, else a grey grid.
  const firstConv = net.layers.find(isConvolution);
  let filters: { image: string; layer: string; caption: string } | undefined;
  if (firstConv) {
    const { kernel } = await plan.model.readKernel(firstConv.name, request);
    const rgb = kernel.shape[2] === 3;
    const picture = filterPicture(firstConv.name, kernel, {
      count: rgb ? 64 : 16,
      channels: 8,
      normalize: 'layer',
      colormap: 'gray',
      cell: 24,
      rgb,
      bgr: plan.model.bgr,
    });
    filters = {
      image: await write('filters.png', picture.image, `${firstConv.name} filters`),
      layer: firstConv.name,
      caption: picture.shows,
    };
  }

  const prediction = await predictionOf(plan, imagePath, options, request, events);
  if (prediction) written.push(...prediction.written);

  const html = reportHtml({
    title: `cnnviz report: ${basename(imagePath)} through ${net.name}`,
    model: net.name,
    weights: engine.weights.description,
    engine: engine.engine,
    input: {
      image: inputName,
      source: basename(imagePath),
      width: input.width,
      height: input.height,
      preprocessing: plan.preprocessing,
    },
    summary: summarize(net),
    filters,
    layers: reportLayers,
    examples,
    prediction: prediction?.section,
    maximize,
  });
  const index = outputPath(options.output, 'index.html');
  await writeFileAtomic(index, new TextEncoder().encode(html));
  written.unshift({
    path: index,
    bytes: Buffer.byteLength(html),
    shows: `the report: open it in a browser (${reportLayers.length} layers)`,
  });
  return written;
}

/**
 * For a model with a class output (a built-in without its classifier has none): the top 5 and
 * the top class's Grad-CAM at the last stage, drawn by `cam` into the report's folder.
 */
async function predictionOf(
  plan: FeaturePlan,
  imagePath: string,
  options: ReportOptions,
  request: EngineRequest,
  events: ReportEvents,
): Promise<{ section: ReportPrediction; written: WrittenFile[] } | undefined> {
  let classifier;
  try {
    classifier = classifierOf(plan.model, plan.preprocessing);
  } catch {
    return undefined;
  }
  const camPlan = await camPlanFor(classifier, undefined, options.labels);
  const cam = { output: options.output, method: 'gradcam' as const, alpha: 0.5, colormap: 'turbo' as const };
  const { results } = await drawCams(
    camPlan,
    [imagePath],
    { ...cam, resize: 'nearest', force: true },
    request,
    // The report says once that its weights are random.
    {
      notice: (line) => {
        if (!line.startsWith('weights:')) events.notice(line);
      },
    },
  );
  const [result] = results;
  const png = result.written.find((f) => f.path.endsWith('.png'))!;
  return {
    section: { top: result.top, cam: relative(options.output, png.path), layer: camPlan.layer.name },
    written: result.written,
  };
}

/**
 * The records of `cnnviz <command>` runs in `dir` (a run's -o folder, or one layer's folder),
 * read as JSON; where there is none, or one is not JSON, a usage error naming --<command>.
 */
async function runRecords(
  dir: string,
  command: 'examples' | 'maximize',
): Promise<Array<{ folder: string; path: string; json: unknown }>> {
  const name = `${command}.json`;
  const folders = existsSync(join(dir, name))
    ? [dir]
    : (await readdir(dir, { withFileTypes: true }).catch(() => []))
        .filter((e) => e.isDirectory() && existsSync(join(dir, e.name, name)))
        .map((e) => join(dir, e.name));
  if (folders.length === 0)
    throw usageError(`--${command} ${dir}: no ${name} there (cnnviz ${command} -o ${dir} writes one)`);
  return Promise.all(
    folders.map(async (folder) => {
      const path = join(folder, name);
      try {
        return { folder, path, json: JSON.parse(await readFile(path, 'utf8')) as unknown };
      } catch {
        throw usageError(`--${command} ${dir}: '${path}' is not JSON`);
      }
    }),
  );
}

/** The maximize runs in `dir` (a maximize -o folder, or one layer's folder), for the report in `from` on `model`. */
export async function maximizeLinks(
  dir: string,
  from: string,
  model: string,
  examples: ReportExamples[],
): Promise<ReportMaximize[]> {
  return Promise.all(
    (await runRecords(dir, 'maximize')).map(async ({ folder, path, json }) => {
      const record = parseMaximizeRecord(json);
      if ('problem' in record)
        throw usageError(`--maximize ${dir}: '${path}' is not a record cnnviz maximize wrote (${record.problem})`);
      const layerExamples = examples.find((e) => e.layer === record.layer);
      // Pictures are looked for beside the record, by their names alone: a record names no other folder.
      return {
        layer: record.layer,
        objective: record.objective,
        overview: relative(from, join(folder, 'overview.png')),
        channels: record.units.map((u) => ({
          channel: u.unit,
          picture: relative(from, join(folder, basename(u.file))),
          start: u.start,
          final: u.final,
          examples: layerExamples?.channels.find((c) => c.channel === u.unit)?.picture,
        })),
        ...(record.model === model
          ? {}
          : {
              note: `These pictures were drawn with the model '${record.model}', not '${model}', the model of this report.`,
            }),
      };
    }),
  );
}

/** The examples runs in `dir` (an examples -o folder, or one layer's folder), for the report in `from` on `model`. */
export async function examplesLinks(dir: string, from: string, model: string): Promise<ReportExamples[]> {
  return Promise.all(
    (await runRecords(dir, 'examples')).map(async ({ folder, path, json }) => {
      const parsed = parseExamplesFile(json);
      if ('problem' in parsed)
        throw usageError(`--examples ${dir}: '${path}' is not an examples file cnnviz wrote (${parsed.problem})`);
      const { file } = parsed;
      const numbers = file.channels.map((c) => c.channel);
      return {
        layer: file.layer,
        score: file.score,
        images: file.images,
        top: Math.max(0, ...file.channels.map((c) => c.examples.length)),
        overview: relative(from, join(folder, 'overview.png')),
        channels: file.channels.map((c) => ({
          channel: c.channel,
          picture: relative(from, join(folder, channelFile(c.channel, numbers))),
          best: c.examples[0]?.score,
        })),
        ...(file.model === model
          ? {}
          : {
              note: `These examples were found with the model '${file.model}', not '${model}', the model of this report.`,
            }),
      };
    }),
  );
}
