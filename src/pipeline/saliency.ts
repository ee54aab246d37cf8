/**
 * `cnnviz saliency`: which pixels the class score is most sensitive to. The gradient of the
 * class logit with respect to the input (Simonyan et al.), averaged over noisy copies
 * (SmoothGrad, Smilkov et al.), integrated along a path from a baseline (Integrated Gradients,
 * Sundararajan et al.), or passed back through ReLUs as guided backpropagation does
 * (Springenberg et al.). All in the model's preprocessed input space, on ONNX Runtime.
 */
import { usageError } from '../errors.js';
import { PREPROCESSORS } from '../image/preprocess.js';
import type { ResizeMethod } from '../image/resize.js';
import { blurImage } from '../image/blur.js';
import { toInputChannels } from '../image/channels.js';
import { npyBytes } from '../output/npy.js';
import { writeFileAtomic, writePng, type WrittenFile } from '../output/files.js';
import { colormapLut, type ColormapName } from '../render/colormap.js';
import { overlay } from '../render/overlay.js';
import { clippedSaliency, gradientMagnitude, saliencyPicture } from '../render/saliency.js';
import { between, completenessGap, trapezoid } from './attribution.js';
import { gaussianNoise, seededRandom } from '../random.js';
import {
  namedTarget,
  modelInput,
  oneHot,
  noticeChannels,
  openClassifier,
  rankClasses,
  type Classifier,
  type ClassifierRequest,
  type ModelInput,
} from './classifier.js';
import { openDifferentiator, type Differentiator, type GradientChoice, type GradientEvents } from './gradients.js';
import {
  explainEach,
  explainJobs,
  type ExplainEvents,
  type ExplainJob,
  type ExplainRun,
  type Explained,
} from './explained.js';

export const SALIENCY_METHODS = ['gradient', 'smoothgrad', 'integrated', 'guided'] as const;
export type SaliencyMethod = (typeof SALIENCY_METHODS)[number];
export const BASELINES = ['black', 'blur'] as const;
export type Baseline = (typeof BASELINES)[number];

const METHOD_NAMES: Record<SaliencyMethod, string> = {
  gradient: 'the gradient',
  smoothgrad: 'SmoothGrad',
  integrated: 'Integrated Gradients',
  guided: 'guided backpropagation',
};

export interface SaliencyPlan extends Classifier {
  names?: string[];
  /** The class --class names; undefined: each image's top class. */
  target?: number;
}

export async function planSaliency(
  request: ClassifierRequest & { labels?: string; target?: string },
): Promise<SaliencyPlan> {
  const classifier = await openClassifier(request);
  return { ...classifier, ...(await namedTarget(classifier, request.labels, request.target)) };
}

export interface SaliencyOptions {
  output: string;
  method: SaliencyMethod;
  /** SmoothGrad: noisy copies, and the noise's deviation as a fraction of the input's range. */
  samples: number;
  noise: number;
  seed: number;
  /** Integrated Gradients: intervals of the path, and where it starts. */
  steps: number;
  baseline: Baseline;
  /** Inputs one run takes, where the graph allows any number. */
  batch: number;
  alpha: number;
  colormap: ColormapName;
  resize: ResizeMethod;
  saveNpy?: boolean;
  force?: boolean;
}

export interface SaliencyEvents extends GradientEvents, ExplainEvents {
  /** Runs done of those an image needs (SmoothGrad, Integrated Gradients). */
  progress?(done: number, total: number): void;
}

/** What one image gives: the logits, the class, the signed attribution (h, w, c), and IG's completeness. */
interface Attribution {
  logits: Float32Array;
  index: number;
  attribution: Float32Array;
  completeness?: { attributions: number; difference: number };
}

/** The image with each input of a list run in batches, the gradients' weighted sum. */
async function weightedGradientSum(
  d: Differentiator,
  inputs: (k: number) => Float32Array,
  weights: number[],
  seed: Float32Array,
  progress: ((done: number, total: number) => void) | undefined,
): Promise<{ sum: Float32Array; logits: Float32Array[] }> {
  let sum: Float32Array | undefined;
  const logits: Float32Array[] = [];
  for (let from = 0; from < weights.length; from += d.batch) {
    const ks = Array.from({ length: Math.min(d.batch, weights.length - from) }, (_, i) => from + i);
    const results = await d.run(
      ks.map(inputs),
      ks.map(() => seed),
    );
    results.forEach((r, i) => {
      const g = r.gradients[0];
      sum ??= new Float32Array(g.length);
      for (let j = 0; j < g.length; j++) sum[j] += weights[ks[i]] * g[j];
      logits.push(r.target);
    });
    progress?.(from + ks.length, weights.length);
  }
  return { sum: sum!, logits };
}

export async function drawSaliency(
  plan: SaliencyPlan,
  paths: string[],
  options: SaliencyOptions,
  choice: GradientChoice,
  events: SaliencyEvents,
): Promise<ExplainRun> {
  if (options.samples < 1) throw usageError('--samples must be at least 1');
  if (options.steps < 1) throw usageError('--steps must be at least 1');
  const explicit = plan.target;
  noticeChannels(plan, events.notice);
  const { width, height, channels } = plan.input;
  const jobs = explainJobs(paths, options.output, `saliency-${options.method}`);
  const { method, samples, noise, seed, steps, baseline, alpha, colormap, resize, saveNpy } = options;
  const settings = { method, target: explicit, resize, preprocessing: plan.preprocessing };
  const stamp = JSON.stringify({
    saliency: {
      model: plan.model.net.name,
      weights: choice.weights,
      ...settings,
      ...(method === 'smoothgrad' ? { samples, noise, seed } : method === 'integrated' ? { steps, baseline } : {}),
    },
    picture: { alpha, colormap, saveNpy: Boolean(saveNpy) },
  });
  let d: Differentiator | undefined;
  const lut = colormapLut(colormap === 'gray' ? 'inferno' : colormap);

  const attribute = async (input: ModelInput): Promise<Attribution> => {
    d ??= await openDifferentiator(
      plan,
      { layers: [], input: true, relu: method === 'guided' ? 'guided' : 'standard', batch: options.batch },
      choice,
      events,
    );
    const x = input.nhwc;
    let [first] = await d.run([x], [oneHot(explicit ?? -1, plan.classes)]);
    const index = explicit ?? rankClasses(first.target)[0].index;
    const hot = oneHot(index, plan.classes);
    if (method === 'gradient' || method === 'guided') {
      if (explicit === undefined) [first] = await d.run([x], [hot]);
      return { logits: first.target, index, attribution: first.gradients[0] };
    }
    if (method === 'smoothgrad') {
      // The noise's deviation is a fraction of the input's range, as the paper sets it.
      let [low, high] = [Infinity, -Infinity];
      for (const v of x) [low, high] = [Math.min(low, v), Math.max(high, v)];
      const sigma = noise * (high - low);
      const copy = (k: number) => {
        const n = gaussianNoise(x.length, sigma, seededRandom(seed + k));
        return x.map((v, i) => v + n[i]);
      };
      const { sum } = await weightedGradientSum(d, copy, Array(samples).fill(1 / samples), hot, events.progress);
      return { logits: first.target, index, attribution: sum };
    }
    const start =
      baseline === 'black'
        ? PREPROCESSORS[plan.preprocessing](new Uint8Array(x.length))
        : PREPROCESSORS[plan.preprocessing](
            toInputChannels((await blurImage(input.resized, Math.max(1, Math.min(width, height) / 16))).data, channels),
          );
    const path = trapezoid(steps);
    const { sum, logits } = await weightedGradientSum(
      d,
      (k) => between(start, x, path[k].alpha),
      path.map((p) => p.weight),
      hot,
      events.progress,
    );
    const attribution = sum.map((g, i) => g * (x[i] - start[i]));
    const difference = logits[steps][index] - logits[0][index];
    let total = 0;
    for (const a of attribution) total += a;
    return { logits: first.target, index, attribution, completeness: { attributions: total, difference } };
  };

  const explain = async ({ path, base }: ExplainJob): Promise<Explained> => {
    const input = await modelInput(path, plan, resize);
    const { logits, index, attribution, completeness } = await attribute(input);
    const ranked = rankClasses(logits, plan.names);
    const chosen = ranked.find((r) => r.index === index)!;
    if (completeness) {
      const gap = completenessGap(attribution, completeness.difference);
      if (gap > 0.01)
        events.notice(
          `${path}: Integrated Gradients' attributions sum to ${completeness.attributions.toPrecision(4)}, f(x) - f(baseline) is ${completeness.difference.toPrecision(4)} (${(100 * gap).toFixed(1)}% apart); more --steps bring them together`,
        );
    }
    const map = clippedSaliency(gradientMagnitude(attribution, channels));
    const name = METHOD_NAMES[method];
    const of = `class ${index}${chosen.name ? ` (${chosen.name})` : ''}`;
    const picture = saliencyPicture(map, width, height);
    const written: WrittenFile[] = [
      {
        path: `${base}.png`,
        bytes: await writePng(`${base}.png`, picture),
        shows: `${name} of ${of}: |gradient|, the largest of R, G, B, clipped at its 99th percentile, ${width}x${height} shown ${picture.width}x${picture.height}`,
      },
    ];
    const over = overlay(input.original, map, [height, width], lut, alpha);
    written.push({
      path: `${base}-overlay.png`,
      bytes: await writePng(`${base}-overlay.png`, over),
      shows: `the same over the ${over.width}x${over.height} image`,
    });
    if (saveNpy) {
      const npy = npyBytes(attribution, [height, width, channels]);
      await writeFileAtomic(`${base}.npy`, npy);
      written.push({
        path: `${base}.npy`,
        bytes: npy.length,
        shows: `${method === 'integrated' ? 'the attributions' : 'the signed gradient'} (${height}, ${width}, ${channels}) float32 in the preprocessed input space`,
      });
    }
    return { image: path, top: ranked.slice(0, 5), target: chosen, written, ...(completeness ? { completeness } : {}) };
  };
  try {
    return await explainEach(jobs, stamp, Boolean(options.force), explain, events);
  } finally {
    await d?.release();
  }
}
