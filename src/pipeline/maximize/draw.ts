/**
 * `cnnviz maximize`: what a deep channel responds to, as Lucid draws it (Olah et al., "Feature
 * Visualization", Distill 2017). An image, parametrised as a decorrelated 1/f spectrum, is
 * optimised with Adam until the channel fires as strongly as it can, through random jitter,
 * scaling and rotation at every step; the first 16 steps let gradients through ReLUs that are
 * off on the image (Lucid's redirected ReLU). One batch item per channel; the network's
 * forward and backward pass run on ONNX Runtime, from the model's own forward graph.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { usageError } from '../../errors.js';
import { openModel } from '../../formats/model.js';
import type { Model } from '../../formats/types.js';
import { decodeImage } from '../../image/decode.js';
import { preprocessAffine, type PreprocessMode } from '../../image/preprocess.js';
import { findLayer } from '../../net/lookup.js';
import { isSpatial, type MapShape, type NetLayer } from '../../net/net.js';
import { npyBytes } from '../../output/npy.js';
import { outputPath, prepareOutputDir, writeFileAtomic, writePng, type WrittenFile } from '../../output/files.js';
import { fileSafe } from '../../output/names.js';
import { visualizationOverview } from '../../render/maximize.js';
import type { PixelImage } from '../../render/mosaic.js';
import { seededRandom } from '../../random.js';
import { timedSync } from '../../timings.js';
import { classifierOf, oneHot } from '../classifier.js';
import {
  openDifferentiator,
  type Differentiator,
  type GradientChoice,
  type GradientEvents,
  type GradientResult,
} from '../gradients.js';
import { recordSchema, type Objective, type UnitResult } from './record.js';
export { OBJECTIVES, type Objective } from './record.js';
import { fourierParametrization, pixelParametrization, type Parametrization } from './parametrization.js';
import { drawTransform, IDENTITY, transformBackward, transformImage } from './transforms.js';

export interface MaximizeRequest {
  model: string;
  layer?: string;
  objective: Objective;
  /** 'all', or indices and ranges: '0-15', '3,7,9-11'. */
  channels: string;
  size?: [number, number];
  /** --input: values for a graph model's inputs other than the image. */
  input?: Record<string, number>;
  cacheDir?: string;
  preprocess?: PreprocessMode;
  /** Checked against the objective before any work. */
  diversity?: number;
}

export interface MaximizePlan {
  model: Model;
  /** The layer whose channels are maximised; for the class objective, the class output. */
  layer: NetLayer;
  map: MapShape;
  /** Channels (or classes) to draw, in order. */
  units: number[];
  input: { width: number; height: number };
  preprocessing: PreprocessMode;
  /** For the class objective: the classifier's head and classes. */
  head?: NetLayer;
  classes?: number;
}

/** '0-15', '3,7,9-11' or 'all' as channel numbers below `count`; a usage error otherwise. */
export function parseChannels(spec: string, count: number, what: string): number[] {
  if (spec === 'all') return Array.from({ length: count }, (_, i) => i);
  const units = new Set<number>();
  for (const part of spec.split(',')) {
    const match = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    if (!match) throw usageError(`--channels ${spec}: expected 'all' or numbers and ranges such as 0-15,20`);
    const [from, to] = [Number(match[1]), Number(match[2] ?? match[1])];
    if (to < from || to >= count)
      throw usageError(`--channels ${spec}: ${what} has ${count} channels, 0 to ${count - 1}`);
    for (let k = from; k <= to; k++) units.add(k);
  }
  return [...units].sort((a, b) => a - b);
}

export async function planMaximize(request: MaximizeRequest): Promise<MaximizePlan> {
  const model = await openModel(request.model, {
    includeTop: request.objective === 'class',
    size: request.size,
    inputs: request.input,
    cacheDir: request.cacheDir,
    readsWeights: true,
  });
  const { net } = model;
  const preprocessing = request.preprocess ?? model.preprocess;
  const [height, width, channels] = net.input;
  if (channels !== 3)
    throw usageError(`${net.name} takes ${channels}-channel input; cnnviz optimises RGB images (3 channels)`);
  if (typeof height !== 'number' || typeof width !== 'number')
    throw usageError(`${net.name} leaves its input size undefined; give one with --size WxH`);
  const input = { width, height };
  if (request.objective === 'class') {
    if ((request.diversity ?? 1) > 1)
      throw usageError('--diversity compares maps of a layer; it does not go with --objective class');
    const classifier = classifierOf(model, preprocessing);
    const units = parseChannels(request.channels, classifier.classes, classifier.head.name);
    return {
      model,
      layer: classifier.head,
      map: [1, 1, classifier.classes],
      units,
      input,
      preprocessing,
      head: classifier.head,
      classes: classifier.classes,
    };
  }
  if (!request.layer) throw usageError('--layer is needed: the layer whose channels to draw');
  const layer = findLayer(net, request.layer, net.layers.filter(isSpatial), 'spatial layer');
  const map = layer.mapShape;
  if (!map || map.some((d) => typeof d !== 'number' || d < 1))
    throw usageError(`${layer.name} has no maps at ${width}x${height}; a larger --size reaches it`);
  const units = parseChannels(request.channels, map[2] as number, layer.name);
  return { model, layer, map: map as MapShape, units, input, preprocessing };
}

export interface MaximizeOptions {
  output: string;
  objective: Objective;
  steps: number;
  lr: number;
  batch: number;
  param: 'fft' | 'pixel';
  decorrelate: boolean;
  transforms: 'standard' | 'none';
  seed: number;
  /** Pictures per unit pushed apart by Lucid's diversity penalty (1: one picture, no penalty). */
  diversity?: number;
  saveNpy?: boolean;
  force?: boolean;
}

export interface MaximizeEvents extends GradientEvents {
  /** Steps done of all (units x steps). */
  progress?(done: number, total: number): void;
}

export interface MaximizeResult {
  written: WrittenFile[];
  units: UnitResult[];
  /** Units drawn by an earlier run with the same settings, not redone. */
  reused: number;
}

/** Redirected ReLUs for Lucid's first 16 steps, then the standard gradient. */
const REDIRECTED_STEPS = 16;

/** The objective of one image from its maps (h, w, c) or logits, and its derivative there (the seed). */
function objectiveOf(
  kind: Objective,
  unit: number,
  [h, w, c]: MapShape,
): {
  value(target: Float32Array): number;
  seed(target: Float32Array): Float32Array;
} {
  const centre = (Math.floor(h / 2) * w + Math.floor(w / 2)) * c + unit;
  switch (kind) {
    case 'channel':
      return {
        value: (a) => {
          let sum = 0;
          for (let i = unit; i < a.length; i += c) sum += a[i];
          return sum / (h * w);
        },
        seed: () => {
          const s = new Float32Array(h * w * c);
          for (let i = unit; i < s.length; i += c) s[i] = 1 / (h * w);
          return s;
        },
      };
    case 'neuron':
      return {
        value: (a) => a[centre],
        seed: () => {
          const s = new Float32Array(h * w * c);
          s[centre] = 1;
          return s;
        },
      };
    case 'layer':
      // DeepDream: the mean square of the whole layer (the same for every unit).
      return {
        value: (a) => a.reduce((sum, v) => sum + v * v, 0) / a.length,
        seed: (a) => a.map((v) => (2 * v) / a.length),
      };
    case 'class':
      return { value: (z) => z[unit], seed: () => oneHot(unit, c) };
  }
}

/** Adam (Kingma and Ba), ascending: Lucid's optimiser. */
function adamStep(
  params: Float32Array,
  grad: Float32Array,
  state: { m: Float32Array; v: Float32Array; t: number },
  lr: number,
): void {
  const [b1, b2, eps] = [0.9, 0.999, 1e-8];
  state.t++;
  const [c1, c2] = [1 - b1 ** state.t, 1 - b2 ** state.t];
  for (let i = 0; i < params.length; i++) {
    state.m[i] = b1 * state.m[i] + (1 - b1) * grad[i];
    state.v[i] = b2 * state.v[i] + (1 - b2) * grad[i] * grad[i];
    params[i] += (lr * (state.m[i] / c1)) / (Math.sqrt(state.v[i] / c2) + eps);
  }
}

/** Pixels in [0, 1] (h, w, 3) as the model takes them, and the gradient taken back. */
function modelInputOf(mode: PreprocessMode): {
  forward(pixels: Float32Array): Float32Array;
  backward(dInput: Float32Array): Float32Array;
} {
  const { matrix, offset } = preprocessAffine(mode);
  return {
    forward: (x) => {
      const out = new Float32Array(x.length);
      for (let p = 0; p < x.length; p += 3)
        for (let c = 0; c < 3; c++)
          out[p + c] = 255 * (matrix[c][0] * x[p] + matrix[c][1] * x[p + 1] + matrix[c][2] * x[p + 2]) + offset[c];
      return out;
    },
    backward: (d) => {
      const out = new Float32Array(d.length);
      for (let p = 0; p < d.length; p += 3)
        for (let j = 0; j < 3; j++)
          out[p + j] = 255 * (matrix[0][j] * d[p] + matrix[1][j] * d[p + 1] + matrix[2][j] * d[p + 2]);
      return out;
    },
  };
}

/** An image in [0, 1] as 8-bit RGB, and back: the picture the user gets is what is scored. */
const to8bit = (x: Float32Array): Uint8Array =>
  Uint8Array.from(x, (v) => Math.round(Math.min(1, Math.max(0, v)) * 255));
const from8bit = (x: Uint8Array): Float32Array => Float32Array.from(x, (v) => v / 255);

/** Each picture's own random stream: the same seed, unit and copy give the same picture in any batch. */
const unitSeed = (seed: number, unit: number, copy: number): number =>
  (Math.imul(seed + 1, 0x9e3779b1) ^ Math.imul(unit + 1, 0x85ebca6b) ^ Math.imul(copy, 0xc2b2ae35)) >>> 0;

/**
 * How hard the diversity penalty pulls, against the objective's own pull at the same step (the
 * penalty's gradient is scaled to the objective's): Lucid's fixed weight (100) assumes its
 * network's activation scale; on tiny-vgg it leaves most pictures without their channel.
 */
const DIVERSITY_WEIGHT = 0.5;

/**
 * Lucid's diversity penalty over one unit's pictures and its gradient at each one's maps (h, w, c):
 * the mean over pictures of the summed cosine similarity of their Gram matrices with the others'.
 */
export function diversityGradients(
  maps: Float32Array[],
  [h, w, c]: MapShape,
): { penalty: number; gradients: Float32Array[] } {
  const n = maps.length;
  const grams = maps.map((a) => {
    const g = new Float64Array(c * c);
    for (let p = 0; p < h * w; p++)
      for (let i = 0; i < c; i++) {
        const ai = a[p * c + i];
        if (ai !== 0) for (let j = 0; j < c; j++) g[i * c + j] += ai * a[p * c + j];
      }
    return g;
  });
  const norms = grams.map((g) => Math.max(1e-10, Math.sqrt(g.reduce((s, v) => s + v * v, 0))));
  const unit = grams.map((g, i) => g.map((v) => v / norms[i]));
  let penalty = 0;
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) if (i !== j) penalty += unit[i].reduce((s, v, k) => s + v * unit[j][k], 0);
  penalty /= n;
  const gradients = maps.map((a, i) => {
    // d(penalty)/d(unit gram i): each pair counts twice; then through the normalisation and G = A^T A.
    const v = new Float64Array(c * c);
    for (let j = 0; j < n; j++) if (j !== i) for (let k = 0; k < c * c; k++) v[k] += (2 / n) * unit[j][k];
    const along = v.reduce((s, x, k) => s + x * unit[i][k], 0);
    const dGram = v.map((x, k) => (x - along * unit[i][k]) / norms[i]);
    const d = new Float32Array(a.length);
    for (let p = 0; p < h * w; p++)
      for (let j = 0; j < c; j++) {
        let sum = 0;
        for (let k = 0; k < c; k++) sum += a[p * c + k] * (dGram[k * c + j] + dGram[j * c + k]);
        d[p * c + j] = sum;
      }
    return d;
  });
  return { penalty, gradients };
}

/** The Euclidean norm, in a loop: a layer's maps are too many values to spread into Math.hypot. */
function norm(values: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i] * values[i];
  return Math.sqrt(sum);
}

/** Runs every image through `d` in the batches it takes. */
async function runAll(
  d: Differentiator,
  images: Float32Array[],
  seeds: Float32Array[],
  read: { values?: boolean; target?: boolean },
): Promise<GradientResult[]> {
  const out: GradientResult[] = [];
  for (let i = 0; i < images.length; i += d.batch)
    out.push(...(await d.run(images.slice(i, i + d.batch), seeds.slice(i, i + d.batch), read)));
  return out;
}

export async function drawMaximize(
  plan: MaximizePlan,
  options: MaximizeOptions,
  choice: GradientChoice,
  events: MaximizeEvents,
): Promise<MaximizeResult> {
  if (!(options.steps >= 1)) throw usageError('--steps must be at least 1');
  if (!(options.lr > 0)) throw usageError('--lr must be above 0');
  const copies = options.diversity ?? 1;
  if (!(copies >= 1)) throw usageError('--diversity must be at least 1');
  const { width, height } = plan.input;
  const folder = fileSafe(plan.layer.name);
  const file = (unit: number, copy: number) =>
    outputPath(
      options.output,
      folder,
      `${options.objective === 'class' ? 'class' : 'channel'}-${String(unit).padStart(3, '0')}${copies > 1 ? `-${copy}` : ''}.png`,
    );
  const recordPath = outputPath(options.output, folder, 'maximize.json');
  await prepareOutputDir(outputPath(options.output, folder));
  const { steps, lr, param, decorrelate, transforms, seed, objective } = options;
  const stamp = JSON.stringify({
    model: plan.model.net.name,
    weights: choice.weights,
    layer: plan.layer.name,
    input: plan.input,
    preprocessing: plan.preprocessing,
    settings: { objective, steps, lr, param, decorrelate, transforms, seed, diversity: copies },
  });
  const key = (unit: number, copy: number) => `${unit}/${copy}`;
  // A unit drawn before with the same settings (all its pictures there) is not redone.
  const done = new Map<string, UnitResult>();
  if (!options.force) {
    const text = await readFile(recordPath, 'utf8').catch(() => undefined);
    let json: unknown;
    try {
      json = text === undefined ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    const parsed = recordSchema.safeParse(json);
    if (parsed.success && parsed.data.stamp === stamp)
      for (const u of parsed.data.units)
        if (u.file === file(u.unit, u.copy) && existsSync(u.file)) done.set(key(u.unit, u.copy), u);
  }
  const copyList = Array.from({ length: copies }, (_, c) => c);
  const todo = plan.units.filter((u) => copyList.some((c) => !done.has(key(u, c))));
  const reused = plan.units.length - todo.length;
  if (reused > 0)
    events.notice(
      `${reused} of ${plan.units.length} channels already drawn with these settings; kept (--force redraws them)`,
    );

  const parametrization: Parametrization =
    param === 'fft'
      ? fourierParametrization(height, width, decorrelate)
      : pixelParametrization(height, width, decorrelate);
  const toInput = modelInputOf(plan.preprocessing);
  const subject = { model: plan.model, input: plan.input, head: plan.head, classes: plan.classes };
  const target = objective === 'class' ? undefined : { name: plan.layer.name, map: plan.map };
  const open = (relu: 'standard' | 'redirected') =>
    openDifferentiator(subject, { layers: [], input: true, relu, target, batch: options.batch }, choice, events);
  let standard: Differentiator | undefined;
  let redirected: Differentiator | undefined;
  const written: WrittenFile[] = [];
  const results: UnitResult[] = [];
  const save = async () => {
    const units = [...done.values()].sort((a, b) => a.unit - b.unit || a.copy - b.copy);
    await writeFileAtomic(recordPath, new TextEncoder().encode(`${JSON.stringify({ stamp, units }, null, 1)}\n`));
  };
  const seedSize = objective === 'class' ? plan.classes! : plan.map[0] * plan.map[1] * plan.map[2];
  try {
    if (todo.length > 0) {
      standard = await open('standard');
      redirected = await open('redirected');
    }
    // A chunk holds whole units (a unit's copies are compared with each other).
    const unitsPerChunk = Math.max(1, Math.floor(options.batch / copies));
    const total = todo.length * copies * steps;
    let stepsDone = 0;
    for (let from = 0; from < todo.length; from += unitsPerChunk) {
      const items = todo.slice(from, from + unitsPerChunk).flatMap((unit) =>
        copyList.map((copy) => {
          const random = seededRandom(unitSeed(seed, unit, copy));
          const params = parametrization.initial(random);
          return {
            unit,
            copy,
            random,
            params,
            adam: { m: new Float32Array(params.length), v: new Float32Array(params.length), t: 0 },
            objective: objectiveOf(objective, unit, plan.map),
          };
        }),
      );
      const zero = () => items.map(() => new Float32Array(seedSize));
      const score = async (images: Float32Array[]) =>
        (await runAll(standard!, images.map(toInput.forward), zero(), { values: false })).map((r, i) =>
          items[i].objective.value(r.target),
        );
      const starts = await score(items.map((it) => from8bit(to8bit(parametrization.render(it.params).pixels))));
      for (let step = 0; step < steps; step++) {
        const d = step < REDIRECTED_STEPS ? redirected! : standard!;
        const rendered = timedSync('image', () => items.map((it) => parametrization.render(it.params)));
        const draws = items.map((it) => (transforms === 'standard' ? drawTransform(it.random) : IDENTITY));
        const inputs = timedSync('transforms', () =>
          rendered.map((r, i) => toInput.forward(transformImage(r.pixels, width, height, draws[i]))),
        );
        let seeds = items.map((it) => it.objective.seed(new Float32Array(0)));
        // Pictures are pushed apart once each has found its channel (after the redirected steps).
        const diverse = copies > 1 && step >= REDIRECTED_STEPS;
        if (objective === 'layer' || diverse) {
          // Seeds that depend on the maps (DeepDream's, the diversity penalty's): one more run to read them.
          const maps = (await runAll(d, inputs, zero(), { values: false })).map((r) => r.target);
          if (objective === 'layer') seeds = items.map((it, i) => it.objective.seed(maps[i]));
          if (diverse)
            timedSync('diversity', () => {
              for (let first = 0; first < items.length; first += copies) {
                const group = maps.slice(first, first + copies);
                const values = group.map((m, k) => items[first + k].objective.value(m));
                diversityGradients(group, plan.map).gradients.forEach((g, k) => {
                  // A picture that lost its channel is left to find it again before it is pushed apart.
                  if (values[k] <= 0) return;
                  // The penalty's pull as strong as the objective's (times the weight) at every step,
                  // whatever the scale of the layer's activations.
                  const s = seeds[first + k];
                  const ratio = norm(s) / Math.max(1e-12, norm(g));
                  for (let j = 0; j < s.length; j++) s[j] -= DIVERSITY_WEIGHT * ratio * g[j];
                });
              }
            });
        }
        const out = await runAll(d, inputs, seeds, { values: false, target: false });
        out.forEach((r, i) => {
          const dPixels = timedSync('transforms', () =>
            transformBackward(toInput.backward(r.gradients[0]), width, height, draws[i]),
          );
          const grad = timedSync('image', () => parametrization.backward(rendered[i].saved, dPixels));
          timedSync('adam', () => adamStep(items[i].params, grad, items[i].adam, lr));
        });
        stepsDone += items.length;
        events.progress?.(stepsDone, total);
      }
      const finals = items.map((it) => to8bit(parametrization.render(it.params).pixels));
      const scores = await score(finals.map(from8bit));
      for (const [i, it] of items.entries()) {
        const path = file(it.unit, it.copy);
        const picture: PixelImage = { width, height, channels: 3, data: finals[i] };
        const which = copies > 1 ? ` (${it.copy + 1} of ${copies})` : '';
        written.push({
          path,
          bytes: await writePng(path, picture),
          shows: `${objective} ${it.unit}${which} of ${plan.layer.name}: ${scores[i].toPrecision(4)} (from ${starts[i].toPrecision(4)}), ${width}x${height}`,
        });
        if (options.saveNpy) {
          const npy = npyBytes(parametrization.render(it.params).pixels, [height, width, 3]);
          const npyPath = path.replace(/\.png$/, '.npy');
          await writeFileAtomic(npyPath, npy);
          written.push({ path: npyPath, bytes: npy.length, shows: `the same image (h, w, 3) float32 in [0, 1]` });
        }
        const result = { unit: it.unit, copy: it.copy, start: starts[i], final: scores[i], file: path };
        done.set(key(it.unit, it.copy), result);
        results.push(result);
      }
      // After every chunk: a stopped run keeps what it finished.
      await save();
    }
  } finally {
    await standard?.release();
    if (redirected !== standard) await redirected?.release();
  }
  const units = plan.units.flatMap((u) => copyList.map((c) => done.get(key(u, c))!));

  const overview = outputPath(options.output, folder, 'overview.png');
  // Pictures drawn by an earlier run are read back from their files.
  const tiles = await Promise.all(
    units.map(async (u): Promise<PixelImage> => ({ ...(await decodeImage(u.file)), channels: 3 })),
  );
  const picture = visualizationOverview(
    tiles,
    units.map((u) => u.unit),
    copies > 1 ? copies : undefined,
  );
  written.push({
    path: overview,
    bytes: await writePng(overview, picture),
    shows: `${plan.units.length} ${objective === 'class' ? 'classes' : 'channels'} of ${plan.layer.name}${copies > 1 ? `, ${copies} pictures each` : ''}, labelled`,
  });
  written.push({
    path: recordPath,
    bytes: (await readFile(recordPath)).length,
    shows: 'settings, and each objective from the start to the end',
  });
  return { written, units: results, reused };
}
