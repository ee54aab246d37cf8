/**
 * `cnnviz cam`: why the model predicted what it did. For each image: the prediction (top 5),
 * then a class activation map at a spatial layer (Grad-CAM, Selvaraju et al., and the methods
 * that vary its weighing), enlarged bilinearly over the image. The gradient comes from the
 * model's own forward graph (any format), differentiated on ONNX Runtime.
 */
import { basename, extname } from 'node:path';
import { runtimeError, usageError } from '../errors.js';
import { decodeImage, type RgbImage } from '../image/decode.js';
import { PREPROCESSORS, type PreprocessMode } from '../image/preprocess.js';
import { resizeImage, type ResizeMethod } from '../image/resize.js';
import { toChannelsFirst, toChannelsLast } from '../image/layout.js';
import { openModel } from '../formats/model.js';
import type { ForwardGraph, Model, WeightsChoice } from '../formats/types.js';
import { gradientModel, gradientName, NoGradientRuleError, seedName } from '../graph/gradient.js';
import { isSpatial, type MapShape, type NetLayer } from '../net/net.js';
import { findLayer } from '../net/lookup.js';
import { stageEnds } from '../net/stages.js';
import { npyBytes } from '../output/npy.js';
import { outputPath, writeFileAtomic, writePng, type WrittenFile } from '../output/files.js';
import { fileSafe } from '../output/names.js';
import { colormapLut, type ColormapName } from '../render/colormap.js';
import { overlay } from '../render/overlay.js';
import { classActivationMap, type CamMethod } from '../render/cam.js';

export interface CamRequest {
  model: string;
  weights: string;
  size?: [number, number];
  cacheDir?: string;
  layer?: string;
  preprocess?: PreprocessMode;
}

export interface CamPlan {
  model: Model;
  /** The spatial layer whose maps are weighed, and its (h, w, c). */
  layer: NetLayer;
  map: MapShape;
  /** The class output: the last layer, of (batch, classes). */
  head: NetLayer;
  classes: number;
  input: { width: number; height: number };
  preprocessing: PreprocessMode;
}

/** The layer (default: the last stage) and the class output; every usage error before any work. */
export async function planCam(request: CamRequest): Promise<CamPlan> {
  const model = await openModel(request.model, {
    includeTop: true,
    size: request.size,
    cacheDir: request.cacheDir,
    readsWeights: true,
  });
  const { net } = model;
  const last = net.layers[net.layers.length - 1];
  const classes = last?.outputShape?.length === 2 ? last.outputShape[1] : null;
  if (!last || typeof classes !== 'number' || classes < 2) {
    throw usageError(
      `${net.name} has no class output (its last layer gives ${JSON.stringify(last?.outputShape ?? '?')}); 'cnnviz examples' shows what its channels respond to`,
    );
  }
  const spatial = net.layers.filter(isSpatial);
  const stages = stageEnds(net);
  const layer = request.layer
    ? findLayer(net, request.layer, spatial, 'spatial layer')
    : (stages[stages.length - 1] ?? spatial[spatial.length - 1]);
  if (!layer) throw usageError(`${net.name} has no spatial layer to weigh`);
  const [height, width, channels] = net.input;
  if (channels !== 3)
    throw usageError(`${net.name} takes ${channels}-channel input; cnnviz feeds RGB images (3 channels)`);
  const map = layer.mapShape;
  if (typeof height !== 'number' || typeof width !== 'number' || !map || map.some((d) => typeof d !== 'number')) {
    throw usageError(`${net.name} leaves its input size undefined; give one with --size WxH`);
  }
  return {
    model,
    layer,
    map: map as MapShape,
    head: last,
    classes,
    input: { width, height },
    preprocessing: request.preprocess ?? model.preprocess,
  };
}

/** Where a class's probability is told apart: its index, and its name when labels are given. */
export interface Prediction {
  index: number;
  probability: number;
  name?: string;
}

export interface CamOptions {
  output: string;
  method: CamMethod;
  /** A class index or name; default: the top class. */
  target?: string;
  labels?: string[];
  alpha: number;
  colormap: ColormapName;
  resize: ResizeMethod;
  saveNpy?: boolean;
}

export interface CamResult {
  image: string;
  top: Prediction[];
  target: Prediction;
  written: WrittenFile[];
}

const METHOD_NAMES: Record<CamMethod, string> = {
  gradcam: 'Grad-CAM',
  'gradcam++': 'Grad-CAM++',
  hirescam: 'HiResCAM',
  xgradcam: 'XGrad-CAM',
  layercam: 'LayerCAM',
};

/** The softmax of logits, in float64. */
function softmax(logits: Float32Array): number[] {
  const top = Math.max(...logits);
  const exps = Array.from(logits, (v) => Math.exp(v - top));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / sum);
}

/** The class --class names, by index or label. */
function targetClass(value: string, classes: number, labels: string[] | undefined): number {
  const named = labels?.indexOf(value) ?? -1;
  if (named >= 0) return named;
  const index = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!(index >= 0 && index < classes)) {
    throw usageError(`--class ${value}: ${labels ? 'no such label, nor ' : ''}a class index from 0 to ${classes - 1}`);
  }
  return index;
}

/** The logits behind a class output: through Identity nodes to a Softmax's input, where there is one. */
function logitsOf(graph: ForwardGraph, output: string): { tensor: string; softmax: boolean } {
  const producer = (t: string) => graph.model.graph.node.find((n) => n.output[0] === t);
  let tensor = output;
  for (let node = producer(tensor); node?.opType === 'Identity'; node = producer(tensor)) tensor = node.input[0];
  const node = producer(tensor);
  return node?.opType === 'Softmax' ? { tensor: node.input[0], softmax: true } : { tensor, softmax: false };
}

export interface CamEvents {
  notice(line: string): void;
}

export async function drawCams(
  plan: CamPlan,
  paths: string[],
  options: CamOptions,
  choice: WeightsChoice,
  events: CamEvents,
): Promise<CamResult[]> {
  const { model, layer, map, head, input } = plan;
  const graph = await model.forwardGraph([layer.name, head.name], choice);
  const [maps, output] = graph.tensors;
  if (graph.weights.random) events.notice(`weights: ${graph.weights.description}; the map shows an untrained network`);
  const logits = logitsOf(graph, output.name);
  if (logits.softmax)
    events.notice(`${head.name} ends in a softmax: differentiated at its input, the logits, as Grad-CAM does`);
  let bytes: Uint8Array;
  try {
    bytes = gradientModel({ model: graph.model, input: graph.input, target: logits.tensor, wrt: [maps.name] });
  } catch (err) {
    if (err instanceof NoGradientRuleError)
      throw usageError(`cannot differentiate ${model.net.name}: no gradient rule for ${err.message}`);
    throw err;
  }
  // A bad --class fails before the first image.
  const explicit = options.target === undefined ? undefined : targetClass(options.target, plan.classes, options.labels);
  const ort = await import('onnxruntime-node');
  const session = await ort.InferenceSession.create(bytes).catch((err: Error) => {
    throw runtimeError(`ONNX Runtime cannot run the gradient of ${model.net.name}: ${err.message.split('\n')[0]}`);
  });
  const lut = colormapLut(options.colormap === 'gray' ? 'turbo' : options.colormap);
  const results: CamResult[] = [];
  try {
    for (const path of paths) {
      const original = await decodeImage(path);
      const image: RgbImage = await resizeImage(original, input.width, input.height, options.resize);
      const nhwc = PREPROCESSORS[plan.preprocessing](image.data);
      const [h, w] = [input.height, input.width];
      const feed = graph.input.layout === 'nchw' ? toChannelsFirst(nhwc, [h, w, 3]) : nhwc;
      const dims = graph.input.layout === 'nchw' ? [1, 3, h, w] : [1, h, w, 3];
      const run = (seed: Float32Array) =>
        session.run({
          [graph.input.name]: new ort.Tensor('float32', feed, dims),
          [seedName(logits.tensor)]: new ort.Tensor('float32', seed, [1, plan.classes]),
        });
      const seedFor = (index: number) => Float32Array.from({ length: plan.classes }, (_, k) => (k === index ? 1 : 0));
      // One pass gives the logits and the gradient: a second only when the class is the top one, unknown until the first.
      let result = await run(seedFor(explicit ?? -1));
      const probabilities = softmax(result[logits.tensor].data as Float32Array);
      const ranked = probabilities
        .map((p, index) => ({
          index,
          probability: p,
          ...(options.labels?.[index] ? { name: options.labels[index] } : {}),
        }))
        .sort((a, b) => b.probability - a.probability);
      const index = explicit ?? ranked[0].index;
      if (explicit === undefined) result = await run(seedFor(index));
      const order = (t: Float32Array) => (maps.layout === 'nchw' ? toChannelsLast(t, map) : t);
      const cam = classActivationMap(
        options.method,
        order(result[maps.name].data as Float32Array),
        order(result[gradientName(maps.name)].data as Float32Array),
        map,
      );
      const stem = fileSafe(basename(path, extname(path)));
      const base = outputPath(options.output, `${stem}-cam-${options.method.replace('++', 'pp')}`);
      // Over the image itself, as the user knows it: the map enlarged bilinearly to its size.
      const picture = overlay(original, cam, [map[0], map[1]], lut, options.alpha);
      const written: WrittenFile[] = [];
      const target = ranked.find((r) => r.index === index)!;
      const what = `${METHOD_NAMES[options.method]} of class ${index}${target.name ? ` (${target.name})` : ''} at ${layer.name} ${map[0]}x${map[1]} over the ${original.width}x${original.height} image`;
      written.push({ path: `${base}.png`, bytes: await writePng(`${base}.png`, picture), shows: what });
      if (options.saveNpy) {
        const npy = npyBytes(cam, [map[0], map[1]]);
        await writeFileAtomic(`${base}.npy`, npy);
        written.push({
          path: `${base}.npy`,
          bytes: npy.length,
          shows: `the ${METHOD_NAMES[options.method]} map (${map[0]}, ${map[1]}) float32, before enlarging`,
        });
      }
      results.push({ image: path, top: ranked.slice(0, 5), target, written });
    }
  } finally {
    await session.release();
  }
  return results;
}
