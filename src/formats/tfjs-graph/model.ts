/**
 * The TensorFlow.js graph-model adapter (`"format": "graph-model"`: models converted from
 * TensorFlow SavedModels or TF Hub). One layer per node (constants aside), shown by the
 * shortest unique tail of its long name; NHWC maps; kernels HWIO (Conv2D, _FusedConv2D) and
 * HWCM (depthwise). It runs translated to ONNX on ONNX Runtime, or, for ops the translation
 * does not cover, on tfjs-converter's GraphModel.execute on a tfjs backend.
 */
import { messageOf, runtimeError, usageError } from '../../errors.js';
import {
  depthwiseKernel,
  isChain,
  mapDims,
  type Kernel,
  type KernelShape,
  type LayerRole,
  type Net,
  type NetLayer,
  type Shape,
} from '../../net/net.js';
import { timed } from '../../timings.js';
import { lazySchema, schemaProblem } from '../../schema.js';
import { fileIdentity } from '../../weights/identity.js';
import {
  checkedManifest,
  manifestShards,
  readManifestWeights,
  type ManifestGroup,
} from '../../weights/tfjs-weights.js';
import type { WeightArray } from '../../weights/h5.js';
import type { EngineRequest, Model, OpenOptions } from '../types.js';
import type { BackendName } from '../../engines/backend.js';
import type { Forward } from '../../engines/forward.js';
import {
  CONV_OPS,
  DEPTHWISE_OPS,
  graphLayouts,
  inferGraphShapes,
  nodeWindow,
  placeholderDims,
  sourceOf,
  type GraphNode,
  type Layout,
} from './shapes.js';
import type { Json } from '../json.js';
import {
  onnxInput,
  onnxOutputs,
  TRANSLATOR_VERSIONS,
  translatedForward,
  translatedOrTfjs,
} from '../../graph/translated.js';
import { initBackend } from '../../engines/backend.js';

function roleOf(op: string): LayerRole {
  if (op === 'Placeholder') return 'input';
  if (CONV_OPS.has(op) || DEPTHWISE_OPS.has(op)) return 'conv';
  if (op === 'Pad' || op === 'MirrorPad') return 'pad';
  return 'other';
}

/** The shortest trailing part (on '/') of each name that no other name ends with. */
export function shortestTails(names: string[]): string[] {
  return names.map((name) => {
    const parts = name.split('/');
    for (let k = 1; k < parts.length; k++) {
      const tail = parts.slice(-k).join('/');
      if (names.every((other) => other === name || !(other === tail || other.endsWith(`/${tail}`)))) return tail;
    }
    return name;
  });
}

/** What a graph model's topology must be before a node is looked at: named nodes with ops, inputs by name. */
const topologySchema = lazySchema<{ node: GraphNode[] }>((z) =>
  z.object({
    node: z.array(
      z.object({
        name: z.string().min(1),
        op: z.string().min(1),
        input: z.array(z.string()).optional(),
        attr: z.record(z.string(), z.unknown()).optional(),
      }),
    ),
  }),
);

/** A graph model as read: its nodes, its constants (weights, axes, shapes), its image input and its others. */
interface GraphFile {
  path: string;
  json: Json;
  nodes: GraphNode[];
  manifest: ManifestGroup[];
  /** The weight shards, for the cache key of a translation. */
  files: string[];
  /** Each manifest group's shards joined, as tfjs-converter takes them. */
  groups: Buffer[];
  constants: Map<string, WeightArray>;
  input: GraphNode;
  /** The image input's layout: NCHW for graphs converted from PyTorch or ONNX. */
  layout: Layout;
  /** The other inputs (recurrent states, flags), each fed a constant: zeros of its shape, or --input's value. */
  fixedInputs: Map<string, WeightArray>;
}

/** Channels of an image: 1 (grey), 3 (RGB), 4 (RGBA). */
const isChannels = (d: number | null) => d === 1 || d === 3 || d === 4;

/** The image among several inputs: the first of rank 4 with image channels on either side. */
function imagePlaceholder(placeholders: GraphNode[]): GraphNode | undefined {
  const fours = placeholders.filter((p) => placeholderDims(p).length === 4);
  return fours.find((p) => isChannels(placeholderDims(p)[3]) || isChannels(placeholderDims(p)[1])) ?? fours[0];
}

/** NCHW when the channels sit second and not last: (1, 3, 416, 416), (1, 3, -1, -1). */
function layoutOfInput(dims: Array<number | null>): Layout {
  return isChannels(dims[1]) && !isChannels(dims[3]) ? 'NCHW' : 'NHWC';
}

/** The other inputs as constants: zeros of their declared shape (a free dimension taken as 1), or --input's value. */
function fixedInputsOf(path: string, others: GraphNode[], values: Record<string, number>): Map<string, WeightArray> {
  const names = new Set(others.map((o) => o.name));
  for (const name of Object.keys(values))
    if (!names.has(name))
      throw usageError(
        `--input ${name}: '${path}' has no such other input (${others.length ? [...names].join(', ') : 'it has only the image'})`,
      );
  return new Map(
    others.map((node) => {
      const shape = placeholderDims(node).map((d) => d ?? 1);
      const data = new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(values[node.name] ?? 0);
      return [node.name, { name: node.name, shape, data }];
    }),
  );
}

/** The nodes, manifest and constants of a graph model, its image input sized by --size where given. */
async function readGraphFile(
  path: string,
  json: Json,
  size: [number, number] | undefined,
  inputValues: Record<string, number> = {},
): Promise<GraphFile> {
  const topology = (await topologySchema()).safeParse(json.modelTopology);
  if (!topology.success) throw usageError(`'${path}' has a damaged modelTopology (${schemaProblem(topology.error)})`);
  const nodes = topology.data.node as GraphNode[];
  const manifest = await checkedManifest(path, json.weightsManifest);
  const files = manifestShards(path, manifest);
  const { weights, groups } = await timed('weights', () => readManifestWeights(path, manifest));
  const placeholders = nodes.filter((n) => n.op === 'Placeholder');
  const input = imagePlaceholder(placeholders);
  if (!input)
    throw usageError(
      `'${path}' has no image input (${placeholders.map((n) => `${n.name} of rank ${placeholderDims(n).length}`).join(', ') || 'no inputs'}); cnnviz feeds an image of rank 4`,
    );
  const layout = layoutOfInput(placeholderDims(input));
  const dims = input.attr?.shape?.shape?.dim;
  if (size && dims?.length === 4) {
    const [h, w] = [{ size: String(size[1]) }, { size: String(size[0]) }];
    input.attr!.shape.shape.dim = layout === 'NCHW' ? [dims[0], dims[1], h, w] : [dims[0], h, w, dims[3]];
  }
  const others = placeholders.filter((p) => p !== input);
  return {
    path,
    json,
    nodes,
    manifest,
    files,
    groups,
    constants: new Map(weights.map((w) => [w.name, w])),
    input,
    layout,
    fixedInputs: fixedInputsOf(path, others, inputValues),
  };
}

/** The constants' shapes, and the values of the small ones (axes, shapes, paddings), for the shape rules. */
const knownValues = (constants: Map<string, WeightArray>) =>
  new Map(
    [...constants].map(([name, w]) => [
      name,
      { shape: w.shape, values: w.data.length <= 64 ? Array.from(w.data) : undefined },
    ]),
  );

/** The network description: a layer per node (constants aside) under its shortest unique tail, shapes inferred. */
/** What the graph's shape rules worked out: every tensor's shape, the folded values, each map's layout. */
interface GraphAnalysis {
  shapes: Map<string, Shape>;
  folded: Map<string, number[]>;
  layouts: Map<string, Layout>;
}

function graphNet(file: GraphFile, layersOf: GraphNode[]): { net: Net; analysis: GraphAnalysis; problems: string[] } {
  const { path, nodes, manifest, constants, input, fixedInputs } = file;
  // Parameters are the float constants (int32 ones are axes, shapes and paddings).
  const floats = new Set(manifest.flatMap((g) => g.weights.filter((w) => w.dtype === 'float32').map((w) => w.name)));
  const paramsOf = (names: string[]) =>
    names.reduce((sum, n) => sum + (floats.has(n) ? (constants.get(n)?.data.length ?? 0) : 0), 0);
  const values = knownValues(new Map([...constants, ...fixedInputs]));
  const problems: string[] = [];
  const { shapes, folded } = inferGraphShapes(nodes, values, (node, reason) =>
    problems.push(`shape of '${node.name}' (${node.op}) unknown: ${reason}`),
  );
  const layouts = graphLayouts(
    nodes,
    { name: input.name, layout: file.layout },
    shapes,
    (n) => values.get(n)?.values ?? folded.get(n),
  );
  const dataFormat = (name: string) => (layouts.get(name) === 'NCHW' ? 'channels_first' : 'channels_last');
  // Between SpaceToBatchND and BatchToSpaceND (a dilated convolution as converted) the maps are
  // blocks of the image folded into the batch: no picture of the image, and no resolution of it.
  const blocked = new Set<string>();
  for (const node of nodes)
    if (
      node.op === 'SpaceToBatchND' ||
      (node.op !== 'BatchToSpaceND' && (node.input ?? []).some((i) => !i.startsWith('^') && blocked.has(sourceOf(i))))
    )
      blocked.add(node.name);
  const tails = shortestTails(layersOf.map((n) => n.name));
  const displayName = new Map(layersOf.map((n, i) => [n.name, tails[i]]));
  const layers: NetLayer[] = layersOf.map((node, index) => {
    const inputs = (node.input ?? []).filter((i) => !i.startsWith('^')).map(sourceOf);
    const outputShape = shapes.get(node.name);
    const weights = inputs
      .map((i) => constants.get(i))
      .filter((w): w is WeightArray => w !== undefined && w.shape.length > 1);
    return {
      index,
      depth: 0,
      name: displayName.get(node.name)!,
      type: node.op,
      role: roleOf(node.op),
      inputs: inputs.filter((i) => displayName.has(i)).map((i) => displayName.get(i)!),
      outputShape,
      mapShape: blocked.has(node.name) ? undefined : mapDims(outputShape, dataFormat(node.name)),
      params: paramsOf(inputs),
      ...(roleOf(node.op) === 'conv' && weights[0] ? { kernelShape: weights[0].shape } : {}),
      aliases: displayName.get(node.name) === node.name ? [] : [node.name],
      window: nodeWindow(node, weights[0]?.shape, (n) => values.get(n)?.values),
    };
  });
  const net: Net = {
    name: path.split('/').slice(-2, -1)[0] || 'graph-model',
    format: 'tfjs-graph',
    layers,
    input: mapDims(shapes.get(input.name), dataFormat(input.name)) ?? [null, null, null],
    params: { total: paramsOf([...constants.keys()]) },
    unknown: layers.filter((l) => !l.outputShape).map((l) => l.name),
    sequential: isChain(layers),
  };
  return { net, analysis: { shapes, folded, layouts }, problems };
}

/** The requested nodes on ONNX Runtime, the graph translated once and kept prepared in the cache. */
async function onnxForward(
  file: GraphFile,
  name: string,
  analysis: GraphAnalysis,
  outputs: string[],
  request: EngineRequest,
): Promise<Forward> {
  const key = await translationKey(file, analysis, outputs);
  // Only a cache miss translates (and loads onnx-proto).
  const translate = async () =>
    (await import('./to-onnx.js')).translateGraphToOnnx(translation(file, name, analysis, outputs));
  return timed('build', () => translatedForward({ outputs, key, translate }, request));
}

/** What the translation of `outputs` depends on: the files, the outputs, the input's shape, the other inputs' values. */
async function translationKey(file: GraphFile, { shapes }: GraphAnalysis, outputs: string[]) {
  return {
    graphModel: await fileIdentity([file.path, ...file.files]),
    outputs,
    input: shapes.get(file.input.name),
    fixed: [...file.fixedInputs.values()].map((w) => [w.name, w.shape, w.data[0]]),
    translator: TRANSLATOR_VERSIONS.graph,
  };
}

const translation = (file: GraphFile, name: string, analysis: GraphAnalysis, outputs: string[]) => ({
  name,
  nodes: file.nodes,
  constants: file.constants,
  ...analysis,
  input: file.input.name,
  fixedInputs: file.fixedInputs,
  outputs,
});

/** The requested nodes on tfjs-converter's GraphModel.execute, for what the translation does not cover. */
/** Ops tfjs-converter runs only with executeAsync: control flow, and ops whose output size follows from the data. */
const ASYNC_OPS =
  /^(Enter|Exit|Merge|Switch|LoopCond|NextIteration|If|StatelessIf|While|StatelessWhile|NonMaxSuppressionV\d|Where|TensorArray.*|TensorList.*)$/;

async function tfjsForward(
  file: GraphFile,
  outputs: string[],
  layouts: Map<string, Layout>,
  request: EngineRequest,
): Promise<Forward> {
  const { path, json, manifest, groups, input } = file;
  const asynchronous = file.nodes.some((n) => ASYNC_OPS.test(n.op));
  const engine = await initBackend(request.engine as BackendName, request.explain);
  const tf = await import('@tensorflow/tfjs-core');
  const converter = await import('@tensorflow/tfjs-converter');
  let graph: Awaited<ReturnType<typeof converter.loadGraphModel>>;
  try {
    const weightData = Buffer.concat(groups);
    graph = await timed('build', () =>
      converter.loadGraphModel(
        tf.io.fromMemory({
          modelTopology: json.modelTopology,
          weightSpecs: manifest.flatMap((g) => g.weights),
          weightData: weightData.buffer.slice(weightData.byteOffset, weightData.byteOffset + weightData.length),
        }),
      ),
    );
  } catch (err) {
    throw runtimeError(`TensorFlow.js cannot load '${path}': ${messageOf(err)}`);
  }
  return {
    engine,
    async run(batch, shape) {
      // The engine's contract is channels-last in and out; an NCHW graph is fed and read transposed.
      const image = tf.tensor4d(batch, shape);
      const x = file.layout === 'NCHW' ? tf.transpose(image, [0, 3, 1, 2]) : image;
      const fixed = [...file.fixedInputs.values()].map((w) => [w.name, tf.tensor(w.data, w.shape)] as const);
      const feeds = { [input.name]: x, ...Object.fromEntries(fixed) };
      try {
        const result = asynchronous ? await graph.executeAsync(feeds, outputs) : graph.execute(feeds, outputs);
        const tensors = Array.isArray(result) ? result : [result];
        const data = await Promise.all(
          tensors.map(async (t, i) => {
            if (layouts.get(outputs[i]) !== 'NCHW') return (await t.data()) as Float32Array;
            const last = tf.transpose(t, [0, 2, 3, 1]);
            const values = (await last.data()) as Float32Array;
            last.dispose();
            return values;
          }),
        );
        tf.dispose(tensors);
        return data;
      } catch (err) {
        throw runtimeError(`TensorFlow.js cannot run '${path}': ${messageOf(err)}`);
      } finally {
        tf.dispose([image, x, ...fixed.map(([, t]) => t)]);
      }
    },
    dispose: async () => graph.dispose(),
  };
}

/** A stored convolution kernel in the core's layout; a kernel computed in the graph cannot be drawn. */
function graphKernel(file: GraphFile, node: GraphNode, layer: string): Kernel {
  const weight = file.constants.get(sourceOf(node.input![1]));
  if (!weight)
    throw runtimeError(`the weights of '${layer}' are computed in the graph, not stored; cnnviz draws stored kernels`);
  return DEPTHWISE_OPS.has(node.op)
    ? depthwiseKernel(weight.shape, weight.data)
    : { shape: weight.shape as KernelShape, data: weight.data };
}

export async function openGraphModel(path: string, json: Json, options: OpenOptions): Promise<Model> {
  const file = await readGraphFile(path, json, options.size, options.inputs);
  const layersOf = file.nodes.filter((n) => n.op !== 'Const' && n.op !== 'NoOp');
  const { net, analysis, problems } = graphNet(file, layersOf);
  const fixedNotice = file.fixedInputs.size
    ? `the model's other inputs are fed constants: ${[...file.fixedInputs.values()]
        .map((w) => `${w.name} (${w.shape.join('x')}) = ${w.data[0]}`)
        .join(', ')}; --input name=value sets one`
    : undefined;
  const nodeOf = (layer: string) => layersOf[net.layers.find((l) => l.name === layer)!.index!];
  const fileWeights = { description: `from the model file (${path})`, random: false };
  const checkChoices = ({ weights }: { engine?: string; weights?: string }) => {
    if (weights !== undefined && weights !== 'imagenet')
      throw usageError(`--weights ${weights}: a graph model carries its own weights; leave --weights out`);
  };
  return {
    net,
    otherInputs: [...file.fixedInputs.keys()],
    details: [
      `TensorFlow.js graph model, ${file.nodes.length} nodes (${file.nodes.length - layersOf.length} constants), shapes inferred`,
      ...(file.layout === 'NCHW' ? ['its input is channels-first (NCHW): the image is fed transposed'] : []),
      ...(fixedNotice ? [fixedNotice] : []),
      ...problems,
    ],
    preprocess: 'unit',
    preprocessNote: "'unit' (pixels / 255), the default for model files",
    bgr: false,
    checkChoices,
    async readKernel(layer, choice) {
      checkChoices(choice);
      return { kernel: graphKernel(file, nodeOf(layer), layer), weights: fileWeights };
    },
    async forwardGraph(chosen, choice) {
      checkChoices(choice);
      const outputs = chosen.map((layer) => nodeOf(layer).name);
      const build = async () => {
        // Only a gradient translates here, and loads onnx-proto for it.
        const { translateGraphToOnnx } = await import('./to-onnx.js');
        const { translatedGraph } = await import('../../graph/forward-graph.js');
        const bytes = translateGraphToOnnx(translation(file, net.name, analysis, outputs));
        const maps = chosen.map((layer) => net.layers.find((l) => l.name === layer)?.mapShape);
        return {
          ...translatedGraph(bytes, { name: onnxInput, shape: [null, ...net.input] }, onnxOutputs(outputs), maps),
          weights: fileWeights,
        };
      };
      const key = await translationKey(file, analysis, outputs);
      return { key, weights: fileWeights, build };
    },
    async startEngine(chosen, request) {
      checkChoices(request);
      const outputs = chosen.map((layer) => nodeOf(layer).name);
      if (fixedNotice) request.notice?.(fixedNotice);
      const forward = await translatedOrTfjs(
        request,
        () => onnxForward(file, net.name, analysis, outputs, request),
        () => tfjsForward(file, outputs, analysis.layouts, request),
      );
      return { weights: fileWeights, forward };
    },
  };
}
