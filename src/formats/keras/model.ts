/**
 * The Keras adapter: the built-ins (VGG16, VGG19 as Keras configs), TensorFlow.js layers
 * models, Keras .h5 and .keras files. Their architecture is a Keras model config; weights
 * come from the file, a Keras weights file, or seeded initialisers (`--weights none`).
 */
import { usageError } from '../../errors.js';
import { depthwiseKernel, type Kernel, type KernelShape } from '../../net/net.js';
import { timed } from '../../timings.js';
import { BUILTIN_MODELS } from '../builtin.js';
import type { Model, OpenOptions } from '../types.js';
import type { Architecture } from './architecture.js';

export type { Architecture };
import { readModelFile, type KerasFileKind } from './files.js';
import { configLayers, graphFromKerasConfig, type KerasModelConfig } from './graph.js';
import { kerasNet } from './net.js';
import { inferShapes, type LayerShapes } from './shapes.js';
import { flattenNested, flattenWeights, hasNestedModels } from './flatten.js';
import type { LayerWeights } from '../../weights/h5.js';
import type { DownloadCallbacks } from '../../weights/resolve.js';
import { layerWeightArrays, loadWeights, resolveWeightsHandle } from './weights.js';
import { createForward, translationKey } from './forward.js';
import { randomWeights } from './tfjs-model.js';
import { onnxInput, onnxOutputs } from '../../graph/translated.js';

/** Sets the input's spatial size in a Keras config (on the InputLayer, or a Sequential model's first layer). */
export function withInputSize(config: KerasModelConfig, [width, height]: [number, number]): KerasModelConfig {
  const copy: KerasModelConfig = JSON.parse(JSON.stringify(config));
  const layers = configLayers(copy);
  const first = layers.find((l) => l.config?.batch_input_shape);
  if (!first) throw usageError('the model declares no input shape to resize');
  const shape = first.config.batch_input_shape;
  const channelsFirst = layers.some((l) => l.config?.data_format === 'channels_first');
  if (shape.length !== 4)
    throw usageError(`--size applies to image inputs; this model's input is ${JSON.stringify(shape)}`);
  first.config.batch_input_shape = channelsFirst
    ? [shape[0], shape[1], height, width]
    : [shape[0], height, width, shape[3]];
  return copy;
}

export async function resolveArchitecture(
  model: string,
  options: OpenOptions,
  kind?: KerasFileKind,
): Promise<Architecture> {
  const builtin = BUILTIN_MODELS[model.toLowerCase()];
  const sized = (config: KerasModelConfig) => (options.size ? withInputSize(config, options.size) : config);
  if (builtin) {
    return {
      graph: graphFromKerasConfig(sized(builtin.architecture(options.includeTop))),
      builtin,
      preprocess: builtin.preprocess,
    };
  }
  const file = await readModelFile(model, kind);
  return { graph: graphFromKerasConfig(sized(file.config)), file: { path: model, model: file }, preprocess: 'unit' };
}

/**
 * A Keras kernel in the core's layout, one filter per output channel: Conv2D's (kh, kw, in, out)
 * as it is; a depthwise kernel (kh, kw, in, multiplier) has one input channel per filter, so
 * it becomes (kh, kw, 1, in * multiplier), filter c * multiplier + m seeing channel c.
 */
export function kernelOf(type: string, shape: number[], data: Float32Array): Kernel {
  return type === 'Conv2D' ? { shape: shape as KernelShape, data } : depthwiseKernel(shape, data);
}

/** Each layer whose shape rule failed, and why: said under --verbose (the summary shows '?'). */
function shapeProblems(shapes: LayerShapes[]): string[] {
  return shapes.flatMap((s) => [
    ...(s.problem ? [`shape of '${s.layer.name}' (${s.layer.className}) unknown: ${s.problem}`] : []),
    ...shapeProblems(s.inner ?? []),
  ]);
}

export async function openKerasModel(ref: string, options: OpenOptions, kind?: KerasFileKind): Promise<Model> {
  const arch = await resolveArchitecture(ref, options, kind);
  const shapes = inferShapes(arch.graph);
  const net = kerasNet(arch.graph, shapes);
  // Only a built-in with its classifier needs the large weights file (528 MB against 59).
  const includeTop = Boolean(arch.builtin) && options.includeTop;
  // A model holding models runs flat (its inner layers named outer/inner); the net lists it as saved.
  const nested = hasNestedModels(arch.graph.kerasConfig);
  const run: Architecture = nested
    ? { ...arch, graph: graphFromKerasConfig(flattenNested(arch.graph.kerasConfig)) }
    : arch;
  const flatten = nested ? (weights: LayerWeights) => flattenWeights(weights, arch.graph.kerasConfig) : undefined;
  // A nested model's own row stands for its output layer.
  const flatName = (layer: string): string => {
    const row = net.layers.find((l) => l.name === layer);
    if (row?.role !== 'model') return layer;
    const inner = net.layers.filter((l) => l.name.startsWith(`${layer}/`) && l.depth === row.depth + 1);
    return flatName(inner[inner.length - 1].name);
  };
  const weightsRequest = (layers: string[], download?: DownloadCallbacks) => ({
    layers,
    includeTop,
    ...(flatten ? { flatten } : {}),
    ...download,
  });
  return {
    net,
    details: [
      `${arch.builtin ? 'built-in' : 'Keras'} model config: shapes and parameters inferred from it, layer by layer`,
      ...(nested
        ? [
            `it holds models: their ${net.layers.filter((l) => l.depth > 0).length} inner layers are addressed as outer/inner`,
          ]
        : []),
      ...shapeProblems(shapes),
    ],
    preprocess: arch.preprocess,
    ...(arch.file ? { preprocessNote: `'${arch.preprocess}' (pixels / 255), the default for model files` } : {}),
    // Keras' VGG weights expect caffe input: channel 0 is blue.
    bgr: arch.preprocess === 'caffe',
    ...(includeTop ? { withoutTop: () => openKerasModel(ref, { ...options, includeTop: false }, kind) } : {}),
    checkChoices: () => undefined,
    netAt: async (side) => kerasNet(graphFromKerasConfig(withInputSize(arch.graph.kerasConfig, [side, side]))),
    async readKernel(layerName, choice) {
      const loaded = await timed('weights', () =>
        loadWeights(run, choice.weights, weightsRequest([layerName], choice.download)),
      );
      const [kernel] = await layerWeightArrays(run, layerName, loaded);
      const layer = net.layers.find((l) => l.name === layerName)!;
      return {
        kernel: kernelOf(layer.type, kernel.shape, kernel.data),
        weights: { description: loaded.description, random: loaded.weights === 'random' },
      };
    },
    async forwardGraph(layers, choice) {
      const names = layers.map(flatName);
      const handle = await resolveWeightsHandle(
        run,
        choice.weights,
        weightsRequest(
          run.graph.layers.map((l) => l.name),
          choice.download,
        ),
      );
      const weights = { description: handle.description, random: Boolean(handle.identity?.startsWith('random')) };
      const build = async () => {
        const values = await handle.read();
        const arrays = values === 'random' ? await randomWeights(run.graph, names) : values;
        // Only a gradient translates here, and loads onnx-proto for it.
        const { translateToOnnx } = await import('./to-onnx.js');
        const { translatedGraph } = await import('../../graph/forward-graph.js');
        const bytes = translateToOnnx(run.graph, inferShapes(run.graph), arrays, names).model;
        const [, h, w, c] = [null, ...net.input];
        const maps = layers.map((layer) => net.layers.find((l) => l.name === layer)?.mapShape);
        return {
          ...translatedGraph(bytes, { name: onnxInput, shape: [null, h, w, c] }, onnxOutputs(names), maps),
          weights,
        };
      };
      return { key: translationKey(run.graph, handle.identity, names), weights, build };
    },
    async startEngine(layers, request) {
      const weights = await timed('weights', () =>
        resolveWeightsHandle(
          run,
          request.weights,
          weightsRequest(
            run.graph.layers.map((l) => l.name),
            request.download,
          ),
        ),
      );
      request.explain?.(`weights: ${weights.description}`);
      const forward = await timed('build', () =>
        createForward(run.graph, layers.map(flatName), {
          engine: request.engine,
          weights,
          explain: request.explain,
          notice: request.notice,
          onnxCacheDir: request.onnxCacheDir,
          lanes: request.lanes,
        }),
      );
      return {
        forward,
        weights: { description: weights.description, random: Boolean(weights.identity?.startsWith('random')) },
      };
    },
  };
}
