/**
 * cnnviz as a library: the same pipeline as the command line, returning data. Nothing here
 * prints or exits; failures throw CnnvizError (its `exitCode` says 2 for bad input, 1 for
 * failed work).
 */
import { openModel, type OpenOptions } from './formats/model.js';
import { decodeImage } from './image/decode.js';
import { resizeImage, type ResizeMethod } from './image/resize.js';
import type { PreprocessMode } from './image/preprocess.js';
import type { EngineName } from './engines/backend.js';
import { findLayer } from './net/lookup.js';
import { isConvolution, type Kernel, type MapShape } from './net/net.js';
import { summarize, type ModelSummary } from './net/summary.js';
import { planFeatures, startFeatureEngine } from './pipeline/features.js';
import { usageError } from './errors.js';
import { ENGINES } from './engines/backend.js';
import { PREPROCESS_MODES } from './image/preprocess.js';
import { RESIZE_METHODS } from './image/resize.js';
import { schemaProblem } from './schema.js';
import { z } from 'zod';

export { CnnvizError } from './errors.js';
export type { Kernel, MapShape, ModelSummary, PreprocessMode, ResizeMethod };
export type { Net, NetLayer } from './net/net.js';

export interface ModelChoice {
  /** 'vgg16', 'vgg19', or a model file: model.json, .h5, .keras, .onnx. Default 'vgg16'. */
  model?: string;
  /** 'imagenet' (built-ins: found or downloaded; files: their own), 'none' (seeded random), or a Keras weights .h5. */
  weights?: string;
  /** Input [width, height], for models that leave it undefined. */
  size?: [number, number];
}

/** A side of the input, in pixels. */
const side = z.number().int().min(1).max(65536);
const choiceSchema = z.strictObject({
  model: z.string().min(1).optional(),
  weights: z.string().min(1).optional(),
  size: z.tuple([side, side]).optional(),
});
const summarySchema = choiceSchema.extend({ includeTop: z.boolean().optional() });
const filtersSchema = choiceSchema.extend({ layer: z.string().min(1).optional() });
const featureMapsSchema = choiceSchema.extend({
  blocks: z.string().min(1).optional(),
  layers: z.array(z.string().min(1)).min(1).optional(),
  preprocess: z.enum(PREPROCESS_MODES as [PreprocessMode, ...PreprocessMode[]]).optional(),
  resize: z.enum(RESIZE_METHODS as [ResizeMethod, ...ResizeMethod[]]).optional(),
  engine: z.enum(ENGINES as [EngineName, ...EngineName[]]).optional(),
});
const imagesSchema = z.array(z.string().min(1));

/**
 * A caller's options, checked as the command line checks its flags: a wrong type, an unknown
 * name or option is a CnnvizError with exit code 2, never a TypeError from deep inside.
 */
function checked<T>(what: string, schema: z.ZodType<T>, value: unknown): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw usageError(`${what}: ${schemaProblem(parsed.error)}`);
  return parsed.data;
}

/** The layer table, as `cnnviz summary --json` prints it. */
export async function summary(
  given: ModelChoice & Partial<Pick<OpenOptions, 'includeTop'>> = {},
): Promise<ModelSummary> {
  const options = checked('summary options', summarySchema, given);
  const model = await openModel(options.model ?? 'vgg16', {
    includeTop: options.includeTop ?? true,
    size: options.size,
  });
  return summarize(model.net);
}

/** One convolution's kernel in (kh, kw, in, out), the first convolution unless `layer` names one. */
export async function filters(
  given: ModelChoice & { layer?: string } = {},
): Promise<{ layer: string; kernel: Kernel; weights: string }> {
  const options = checked('filters options', filtersSchema, given);
  const model = await openModel(options.model ?? 'vgg16', {
    includeTop: false,
    size: options.size,
    readsWeights: true,
  });
  const convs = model.net.layers.filter(isConvolution);
  const layer = findLayer(model.net, options.layer ?? convs[0]?.name ?? '', convs, 'convolutional layer');
  const { kernel, weights } = await model.readKernel(layer.name, { weights: options.weights ?? 'imagenet' });
  return { layer: layer.name, kernel, weights: weights.description };
}

export interface FeatureMapsOptions extends ModelChoice {
  /** 'all' or stage numbers such as '1,3'; or `layers` by name or index. Default: the first spatial layer. */
  blocks?: string;
  layers?: string[];
  preprocess?: PreprocessMode;
  resize?: ResizeMethod;
  engine?: EngineName;
}

export interface LayerMaps {
  layer: string;
  /** (height, width, channels) */
  shape: MapShape;
  /** Channels-last float32 activations, as `--save-npy` writes them. */
  data: Float32Array;
}

/** Each image's activations at the chosen layers, one forward pass per image. */
export async function featureMaps(
  givenImages: string[],
  given: FeatureMapsOptions = {},
): Promise<Array<{ image: string; maps: LayerMaps[] }>> {
  const images = checked('featureMaps images', imagesSchema, givenImages);
  const options = checked('featureMaps options', featureMapsSchema, given);
  const engine = options.engine ?? 'auto';
  const plan = await planFeatures({
    model: options.model ?? 'vgg16',
    size: options.size,
    blocks: options.blocks,
    layers: options.layers,
    preprocess: options.preprocess,
    engine,
    weights: options.weights,
  });
  const features = await startFeatureEngine(plan, { engine, weights: options.weights ?? 'imagenet' });
  try {
    const results = [];
    for (const image of images) {
      const pixels = await resizeImage(
        await decodeImage(image),
        plan.input.width,
        plan.input.height,
        options.resize ?? 'nearest',
      );
      const [activations] = await features.activations([pixels]);
      results.push({
        image,
        maps: plan.layers.map((layer, i) => ({ layer, shape: plan.mapShapes[i], data: activations[i].slice() })),
      });
    }
    return results;
  } finally {
    await features.dispose();
  }
}
