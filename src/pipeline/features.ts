/**
 * What featuremaps and report share: from `--model`, `--weights` and the layer choice to an
 * engine that turns input images into the chosen layers' activations (the tutorial's
 * multi-output `Model(inputs, outputs=[...])`). Only the part of the model those layers need
 * is prepared, and the convolutional base uses the small no-top weights file.
 */
import { usageError } from '../errors.js';
import type { RgbImage } from '../image/decode.js';
import { PREPROCESSORS, type PreprocessMode } from '../image/preprocess.js';
import type { MapShape } from '../render/featuremaps.js';
import { timed } from '../timings.js';
import type { EngineName } from '../engines/backend.js';
import { createForward, type Forward } from '../engines/forward.js';
import type { ModelGraph } from '../formats/keras/graph.js';
import { resolveArchitecture, resolveWeightsHandle, type Architecture, type WeightsHandle, type WeightsRequest } from '../formats/model.js';
import { selectFeatureLayers } from '../net/select.js';
import { imageDims, inferShapes, modelInputShape, type LayerShapes } from '../formats/keras/shapes.js';

export interface FeatureRequest {
  model: string;
  weights: string;
  size?: [number, number];
  blocks?: string;
  layers?: string[];
  preprocess?: PreprocessMode;
}

/** The model side of a feature-maps run, before any weight is read. */
export interface FeaturePlan {
  arch: Architecture;
  graph: ModelGraph;
  shapes: Map<string, LayerShapes>;
  layers: string[];
  /** (height, width, channels) of each chosen layer's maps. */
  mapShapes: MapShape[];
  input: { width: number; height: number };
  preprocessing: PreprocessMode;
  /** Whether the classifier's weights are needed (only then the large weights file). */
  needsTop: boolean;
}

export async function planFeatures(request: FeatureRequest): Promise<FeaturePlan> {
  // Layers are looked up in the whole model, so that asking for fc1 says "not spatial", not "unknown".
  const full = await resolveArchitecture(request.model, { includeTop: true, size: request.size });
  const layers = selectFeatureLayers(full.graph, { blocks: request.blocks, layers: request.layers, defaultLayer: 'block1_conv1' });
  const base = full.builtin ? await resolveArchitecture(request.model, { includeTop: false, size: request.size }) : full;
  const arch = layers.every((name) => base.graph.layers.some((l) => l.name === name)) ? base : full;
  const { graph } = arch;
  const shapes = new Map(inferShapes(graph).map((s) => [s.layer.name, s]));
  const [height, width, channels] = imageDims(modelInputShape([...shapes.values()]) ?? [], graph.dataFormat);
  if (typeof height !== 'number' || typeof width !== 'number') {
    throw usageError(`${graph.name} leaves its input size undefined; give one with --size WxH`);
  }
  if (channels !== 3) throw usageError(`${graph.name} takes ${channels}-channel input; cnnviz feeds RGB images (3 channels)`);
  return {
    arch,
    graph,
    shapes,
    layers,
    mapShapes: layers.map((name) => imageDims(shapes.get(name)!.outputShape!, graph.dataFormat) as MapShape),
    input: { width, height },
    preprocessing: request.preprocess ?? arch.preprocess,
    needsTop: arch === full && Boolean(full.builtin),
  };
}

export interface FeatureEngine {
  weights: WeightsHandle;
  forward: Forward;
  /** Each image's activations, one flat channels-last array per chosen layer. */
  activations(images: RgbImage[]): Promise<Float32Array[][]>;
  dispose(): Promise<void>;
}

export interface EngineOptions {
  engine: EngineName;
  weights: string;
  onnxCacheDir?: string;
  explain?: (line: string) => void;
  download?: Pick<WeightsRequest, 'onDownloadStart' | 'onProgress'>;
}

export async function startFeatureEngine(plan: FeaturePlan, options: EngineOptions): Promise<FeatureEngine> {
  const { graph, layers, input, mapShapes } = plan;
  const weights = await timed('weights', () =>
    resolveWeightsHandle(plan.arch, options.weights, { layers: graph.layers.map((l) => l.name), includeTop: plan.needsTop, ...options.download }),
  );
  options.explain?.(`weights: ${weights.description}`);
  const forward = await timed('build', () =>
    createForward(graph, layers, { engine: options.engine, weights, explain: options.explain, onnxCacheDir: options.onnxCacheDir }),
  );
  options.explain?.(`backend: ${forward.engine}`);
  const preprocess = PREPROCESSORS[plan.preprocessing];
  const pixels = input.height * input.width * 3;
  return {
    weights,
    forward,
    async activations(images) {
      const batch = new Float32Array(images.length * pixels);
      images.forEach((image, i) => batch.set(preprocess(image.data), i * pixels));
      const outputs = await timed('forward', () => forward.run(batch, [images.length, input.height, input.width, 3]));
      return images.map((_, i) => outputs.map((output, o) => {
        const size = mapShapes[o].reduce((a, b) => a * b, 1);
        return output.subarray(i * size, (i + 1) * size);
      }));
    },
    dispose: () => forward.dispose(),
  };
}
