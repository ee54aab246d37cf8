/**
 * `cnnviz cam`: why the model predicted what it did. For each image: the prediction (top 5),
 * then a class activation map at a spatial layer, enlarged bilinearly over the image. Grad-CAM
 * and its variants weigh the maps by the class logit's gradient (the model's own forward graph,
 * any format, differentiated on ONNX Runtime); Score-CAM and Ablation-CAM by forward passes
 * with each channel as a mask or taken out; Eigen-CAM by the maps' principal component.
 */
import { usageError } from '../errors.js';
import type { ForwardGraph, WeightsChoice } from '../formats/types.js';
import { withChannelAblation, withOutputs, keepName, fillName } from '../graph/edit.js';
import type { PreprocessMode } from '../image/preprocess.js';
import type { ResizeMethod } from '../image/resize.js';
import { isSpatial, type MapShape, type NetLayer } from '../net/net.js';
import { findLayer } from '../net/lookup.js';
import { stageEnds } from '../net/stages.js';
import { npyBytes } from '../output/npy.js';
import { writeFileAtomic, writePng, type WrittenFile } from '../output/files.js';
import { colormapLut, type ColormapName } from '../render/colormap.js';
import { softmax } from '../render/normalize.js';
import { overlay } from '../render/overlay.js';
import {
  ablationFill,
  ablationWeights,
  classActivationMap,
  eigenCam,
  scoreCamMask,
  weightedCam,
} from '../render/cam.js';
import { isGradientMethod, type CamMethod } from '../render/cam-methods.js';
import { loadOrt, type Ort, type OrtSession } from '../engines/onnx-runtime.js';
import {
  namedTarget,
  modelInput,
  oneHot,
  noticeChannels,
  openClassifier,
  rankClasses,
  type Classifier,
  type ModelInput,
} from './classifier.js';
import {
  explainEach,
  explainJobs,
  type ExplainEvents,
  type ExplainJob,
  type ExplainRun,
  type Explained,
} from './explained.js';
import {
  channelsLast,
  classifierGraph,
  inputBatch,
  item,
  openDifferentiator,
  sessionFor,
  type GradientChoice,
  type GradientEvents,
} from './gradients.js';

export interface CamRequest {
  model: string;
  size?: [number, number];
  /** --input: values for a graph model's inputs other than the image. */
  input?: Record<string, number>;
  cacheDir?: string;
  layer?: string;
  preprocess?: PreprocessMode;
  /** --labels: a file of class names. */
  labels?: string;
  /** --class: an index or a name; default the top class. */
  target?: string;
}

export interface CamPlan extends Classifier {
  /** The spatial layer whose maps are weighed, and its (h, w, c). */
  layer: NetLayer;
  map: MapShape;
  /** Class names, where known (--labels, or ImageNet's for 1000 classes). */
  names?: string[];
  /** The class --class names; undefined: each image's top class. */
  target?: number;
}

/** The layer (default: the last stage) and the class output; every usage error before any work. */
export async function planCam(request: CamRequest): Promise<CamPlan> {
  return camPlanFor(await openClassifier(request), request.layer, request.labels, request.target);
}

/** A classifier's Grad-CAM layer (by name, or the last stage) and class names. */
export async function camPlanFor(
  classifier: Classifier,
  layerName?: string,
  labels?: string,
  target?: string,
): Promise<CamPlan> {
  const { net } = classifier.model;
  const spatial = net.layers.filter(isSpatial);
  const stages = stageEnds(net);
  const layer = layerName
    ? findLayer(net, layerName, spatial, 'spatial layer')
    : (stages[stages.length - 1] ?? spatial[spatial.length - 1]);
  if (!layer) throw usageError(`${net.name} has no spatial layer to weigh`);
  const map = layer.mapShape;
  if (!map || map.some((d) => typeof d !== 'number'))
    throw usageError(`${net.name} leaves its input size undefined; give one with --size WxH`);
  return { ...classifier, layer, map: map as MapShape, ...(await namedTarget(classifier, labels, target)) };
}

export interface CamOptions {
  output: string;
  method: CamMethod;
  alpha: number;
  colormap: ColormapName;
  resize: ResizeMethod;
  saveNpy?: boolean;
  /** Masked copies (Score-CAM, Ablation-CAM) one run takes. */
  batch?: number;
  /** Redo images a batch has explained before with the same settings. */
  force?: boolean;
}

export interface CamEvents extends GradientEvents, ExplainEvents {
  /** Forward passes done of those an image needs (Score-CAM, Ablation-CAM). */
  progress?(done: number, total: number): void;
}

export const METHOD_NAMES: Record<CamMethod, string> = {
  gradcam: 'Grad-CAM',
  'gradcam++': 'Grad-CAM++',
  hirescam: 'HiResCAM',
  xgradcam: 'XGrad-CAM',
  layercam: 'LayerCAM',
  scorecam: 'Score-CAM',
  ablationcam: 'Ablation-CAM',
  eigencam: 'Eigen-CAM',
};

/** What one image's map comes from: the prediction's logits, the class explained, the map at the layer's resolution. */
interface CamOfImage {
  logits: Float32Array;
  index?: number;
  cam: Float32Array;
}

/** Computes one image's map, given the image as the model takes it. */
type CamMaker = (input: ModelInput) => Promise<CamOfImage>;

/** Everything that shapes a map's files: a batch rerun with other settings redraws. */
function camStamp(plan: CamPlan, options: CamOptions, weights: string): string {
  const { method, alpha, colormap, resize, saveNpy } = options;
  const { layer, input, preprocessing, target } = plan;
  return JSON.stringify({
    cam: { model: plan.model.net.name, weights, layer: layer.name, input, preprocessing, method, target },
    picture: { alpha, colormap, resize, saveNpy: Boolean(saveNpy) },
  });
}

export async function drawCams(
  plan: CamPlan,
  paths: string[],
  options: CamOptions,
  choice: GradientChoice,
  events: CamEvents,
): Promise<ExplainRun> {
  const explicit = plan.target;
  noticeChannels(plan, events.notice);
  if (options.method === 'eigencam' && explicit !== undefined)
    events.notice('Eigen-CAM is the same for every class: --class does not change it');
  const jobs = explainJobs(paths, options.output, `cam-${options.method.replace('++', 'pp')}`);
  const stamp = camStamp(plan, options, choice.weights);
  let session: { maker: CamMaker; release: () => Promise<void> } | undefined;
  const lut = colormapLut(options.colormap === 'gray' ? 'turbo' : options.colormap);
  const { layer, map } = plan;
  const explain = async ({ path, base }: ExplainJob): Promise<Explained> => {
    const input = await modelInput(path, plan, options.resize);
    // Sessions open at the first image to draw: a batch already drawn costs no model.
    session ??= isGradientMethod(options.method)
      ? await gradientCams(plan, options.method, explicit, choice, events)
      : await forwardCams(plan, options, explicit, choice, events);
    const { logits, index, cam } = await session.maker(input);
    const ranked = rankClasses(logits, plan.names);
    const target = index === undefined ? undefined : ranked.find((r) => r.index === index)!;
    // Over the image itself, as the user knows it: the map enlarged bilinearly to its size.
    const { original } = input;
    const picture = overlay(original, cam, [map[0], map[1]], lut, options.alpha);
    const name = METHOD_NAMES[options.method];
    const of = target ? ` of class ${target.index}${target.name ? ` (${target.name})` : ''}` : '';
    const what = `${name}${of} at ${layer.name} ${map[0]}x${map[1]} over the ${original.width}x${original.height} image`;
    const written: WrittenFile[] = [
      { path: `${base}.png`, bytes: await writePng(`${base}.png`, picture), shows: what },
    ];
    if (options.saveNpy) {
      const npy = npyBytes(cam, [map[0], map[1]]);
      await writeFileAtomic(`${base}.npy`, npy);
      written.push({
        path: `${base}.npy`,
        bytes: npy.length,
        shows: `the ${name} map (${map[0]}, ${map[1]}) float32, before enlarging`,
      });
    }
    return { image: path, top: ranked.slice(0, 5), ...(target ? { target } : {}), written };
  };
  try {
    return await explainEach(jobs, stamp, Boolean(options.force), explain, events);
  } finally {
    await session?.release();
  }
}

/** Grad-CAM and its variants: the logits and the gradient in one run when the class is known, two otherwise. */
async function gradientCams(
  plan: CamPlan,
  method: Parameters<typeof classActivationMap>[0],
  explicit: number | undefined,
  choice: GradientChoice,
  events: CamEvents,
): Promise<{ maker: CamMaker; release: () => Promise<void> }> {
  const d = await openDifferentiator(
    plan,
    { layers: [{ name: plan.layer.name, map: plan.map }], input: false },
    choice,
    events,
  );
  const maker: CamMaker = async ({ nhwc }) => {
    let [result] = await d.run([nhwc], [oneHot(explicit ?? -1, plan.classes)]);
    // The top class is known only after the first run.
    const index = explicit ?? rankClasses(result.target)[0].index;
    if (explicit === undefined) [result] = await d.run([nhwc], [oneHot(index, plan.classes)]);
    return {
      logits: result.target,
      index,
      cam: classActivationMap(method, result.values[0], result.gradients[0], plan.map),
    };
  };
  return { maker, release: () => d.release() };
}

/** A forward session and how to run it on images, reading outputs per image. */
interface ForwardRunner {
  run(
    images: Float32Array[],
    extra?: Record<string, { data: Float32Array; dims: number[] }>,
  ): Promise<Float32Array[][]>;
  release(): Promise<void>;
}

function forwardRunner(
  ort: Ort,
  session: OrtSession,
  graph: ForwardGraph,
  plan: CamPlan,
  outputs: Array<{ name: string; size: number }>,
): ForwardRunner {
  const { width, height } = plan.input;
  return {
    async run(images, extra = {}) {
      const input = inputBatch(graph.input.layout, images, [height, width, plan.input.channels]);
      const feeds: Record<string, InstanceType<Ort['Tensor']>> = {
        [graph.input.name]: new ort.Tensor('float32', input.data, input.dims),
      };
      for (const [name, t] of Object.entries(extra)) feeds[name] = new ort.Tensor('float32', t.data, t.dims);
      const result = await session.run(
        feeds,
        outputs.map((o) => o.name),
      );
      return images.map((_, i) => outputs.map((o) => item(result[o.name].data as Float32Array, i, o.size)));
    },
    release: () => session.release(),
  };
}

/**
 * Score-CAM, Ablation-CAM and Eigen-CAM: forward passes only. The image's own pass gives the maps
 * and logits; Score-CAM then runs the input masked by each channel's map, Ablation-CAM the
 * network with each channel taken out, both in batches, their progress reported.
 */
async function forwardCams(
  plan: CamPlan,
  options: CamOptions,
  explicit: number | undefined,
  choice: WeightsChoice,
  events: CamEvents,
): Promise<{ maker: CamMaker; release: () => Promise<void> }> {
  const { graph, logits } = await classifierGraph(plan, [plan.layer.name], choice, events);
  const maps = graph.tensors[0];
  const [h, w, c] = plan.map;
  const ort = await loadOrt();
  const what = `the forward pass of ${plan.model.net.name}`;
  const outputs = [
    { name: maps.name, size: h * w * c },
    { name: logits, size: plan.classes },
  ];
  const forward = forwardRunner(
    ort,
    await sessionFor(ort, withOutputs(graph.model, [maps.name, logits]), what),
    graph,
    plan,
    outputs,
  );
  // Copies per run where the graph takes any batch size.
  const batch = graph.input.shape[0] === null ? Math.max(1, options.batch ?? 16) : 1;
  const first = async (nhwc: Float32Array) => {
    const [[a, z]] = await forward.run([nhwc]);
    const index = explicit ?? rankClasses(z)[0].index;
    return { a: channelsLast(a, maps.layout, plan.map), logits: z, index };
  };
  const chunks = async (count: number, score: (from: number, to: number) => Promise<number[]>) => {
    const scores: number[] = [];
    for (let from = 0; from < count; from += batch) {
      scores.push(...(await score(from, Math.min(count, from + batch))));
      events.progress?.(scores.length, count);
    }
    return scores;
  };
  if (options.method === 'eigencam') {
    const maker: CamMaker = async ({ nhwc }) => {
      const { a, logits: z } = await first(nhwc);
      return { logits: z, cam: eigenCam(a, plan.map) };
    };
    return { maker, release: () => forward.release() };
  }
  if (options.method === 'scorecam') {
    const { width, height } = plan.input;
    const maker: CamMaker = async ({ nhwc }) => {
      const { a, logits: z, index } = await first(nhwc);
      const masked = (k: number) => {
        const mask = scoreCamMask(a, plan.map, k, [height, width]);
        return nhwc.map((v, i) => v * mask[Math.floor(i / plan.input.channels)]);
      };
      const scores = await chunks(c, async (from, to) => {
        const images = Array.from({ length: to - from }, (_, i) => masked(from + i));
        return (await forward.run(images)).map(([, out]) => out[index]);
      });
      // Score-CAM's channel weights: the softmax over channels of the masked inputs' class logits.
      return { logits: z, index, cam: weightedCam(a, softmax(scores), plan.map) };
    };
    return { maker, release: () => forward.release() };
  }
  // Ablation-CAM: each channel taken out of the layer, the rest of the network run as it is.
  const axis = maps.layout === 'nchw' ? 1 : 3;
  const ablated = forwardRunner(
    ort,
    await sessionFor(ort, withChannelAblation(graph.model, maps.name, axis, c, [logits]), what),
    graph,
    plan,
    [{ name: logits, size: plan.classes }],
  );
  const maker: CamMaker = async ({ nhwc }) => {
    const { a, logits: z, index } = await first(nhwc);
    const fill = ablationFill(a);
    const scores = await chunks(c, async (from, to) => {
      const n = to - from;
      const keep = new Float32Array(n * c).fill(1);
      for (let i = 0; i < n; i++) keep[i * c + from + i] = 0;
      const dims = axis === 1 ? [n, c, 1, 1] : [n, 1, 1, c];
      const out = await ablated.run(Array<Float32Array>(n).fill(nhwc), {
        [keepName(maps.name)]: { data: keep, dims },
        [fillName(maps.name)]: { data: Float32Array.of(fill), dims: [] },
      });
      return out.map(([scores]) => scores[index]);
    });
    return { logits: z, index, cam: weightedCam(a, ablationWeights(z[index], scores), plan.map) };
  };
  return {
    maker,
    release: async () => {
      await forward.release();
      await ablated.release();
    },
  };
}
