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
import { CONV_OPS, DEPTHWISE_OPS, inferGraphShapes, nodeWindow, sourceOf, type GraphNode } from './shapes.js';
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

/** A graph model as read: its nodes, its constants (weights, axes, shapes), and its single input. */
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
}

/** The nodes, manifest and constants of a graph model, its one input sized by --size where given. */
async function readGraphFile(path: string, json: Json, size: [number, number] | undefined): Promise<GraphFile> {
  const topology = (await topologySchema()).safeParse(json.modelTopology);
  if (!topology.success) throw usageError(`'${path}' has a damaged modelTopology (${schemaProblem(topology.error)})`);
  const nodes = topology.data.node as GraphNode[];
  const manifest = await checkedManifest(path, json.weightsManifest);
  const files = manifestShards(path, manifest);
  const { weights, groups } = await timed('weights', () => readManifestWeights(path, manifest));
  const placeholders = nodes.filter((n) => n.op === 'Placeholder');
  if (placeholders.length !== 1)
    throw usageError(
      `'${path}' has ${placeholders.length} inputs (${placeholders.map((n) => n.name).join(', ')}); cnnviz feeds one image`,
    );
  const input = placeholders[0];
  const dims = input.attr?.shape?.shape?.dim;
  if (size && dims?.length === 4)
    input.attr!.shape.shape.dim = [dims[0], { size: String(size[1]) }, { size: String(size[0]) }, dims[3]];
  return { path, json, nodes, manifest, files, groups, constants: new Map(weights.map((w) => [w.name, w])), input };
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
function graphNet(
  file: GraphFile,
  layersOf: GraphNode[],
): { net: Net; shapes: Map<string, Shape>; problems: string[] } {
  const { path, nodes, manifest, constants, input } = file;
  // Parameters are the float constants (int32 ones are axes, shapes and paddings).
  const floats = new Set(manifest.flatMap((g) => g.weights.filter((w) => w.dtype === 'float32').map((w) => w.name)));
  const paramsOf = (names: string[]) =>
    names.reduce((sum, n) => sum + (floats.has(n) ? (constants.get(n)?.data.length ?? 0) : 0), 0);
  const values = knownValues(constants);
  const problems: string[] = [];
  const shapes = inferGraphShapes(nodes, values, (node, reason) =>
    problems.push(`shape of '${node.name}' (${node.op}) unknown: ${reason}`),
  );
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
      mapShape: mapDims(outputShape, 'channels_last'),
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
    input: mapDims(shapes.get(input.name), 'channels_last') ?? [null, null, null],
    params: { total: paramsOf([...constants.keys()]) },
    unknown: layers.filter((l) => !l.outputShape).map((l) => l.name),
    sequential: isChain(layers),
  };
  return { net, shapes, problems };
}

/** The requested nodes on ONNX Runtime, the graph translated once and kept prepared in the cache. */
async function onnxForward(
  file: GraphFile,
  { name, shapes }: { name: string; shapes: Map<string, Shape> },
  outputs: string[],
  request: EngineRequest,
): Promise<Forward> {
  const { nodes, constants, input } = file;
  const key = {
    graphModel: await fileIdentity([file.path, ...file.files]),
    outputs,
    input: shapes.get(input.name),
    translator: TRANSLATOR_VERSIONS.graph,
  };
  // Only a cache miss translates (and loads onnx-proto).
  const translate = async () =>
    (await import('./to-onnx.js')).translateGraphToOnnx({ name, nodes, constants, shapes, input: input.name, outputs });
  return timed('build', () => translatedForward({ outputs, key, translate }, request));
}

/** The requested nodes on tfjs-converter's GraphModel.execute, for what the translation does not cover. */
async function tfjsForward(file: GraphFile, outputs: string[], request: EngineRequest): Promise<Forward> {
  const { path, json, manifest, groups, input } = file;
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
      const x = tf.tensor4d(batch, shape);
      try {
        const result = graph.execute({ [input.name]: x }, outputs);
        const tensors = Array.isArray(result) ? result : [result];
        const data = await Promise.all(tensors.map(async (t) => (await t.data()) as Float32Array));
        tf.dispose(tensors);
        return data;
      } catch (err) {
        throw runtimeError(`TensorFlow.js cannot run '${path}': ${messageOf(err)}`);
      } finally {
        x.dispose();
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
  const file = await readGraphFile(path, json, options.size);
  const layersOf = file.nodes.filter((n) => n.op !== 'Const' && n.op !== 'NoOp');
  const { net, shapes, problems } = graphNet(file, layersOf);
  const nodeOf = (layer: string) => layersOf[net.layers.find((l) => l.name === layer)!.index!];
  const fileWeights = { description: `from the model file (${path})`, random: false };
  const checkChoices = ({ weights }: { engine?: string; weights?: string }) => {
    if (weights !== undefined && weights !== 'imagenet')
      throw usageError(`--weights ${weights}: a graph model carries its own weights; leave --weights out`);
  };
  return {
    net,
    details: [
      `TensorFlow.js graph model, ${file.nodes.length} nodes (${file.nodes.length - layersOf.length} constants), shapes inferred`,
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
        const { nodes, constants, input } = file;
        const bytes = translateGraphToOnnx({ name: net.name, nodes, constants, shapes, input: input.name, outputs });
        const maps = chosen.map((layer) => net.layers.find((l) => l.name === layer)?.mapShape);
        return {
          ...translatedGraph(bytes, { name: onnxInput, shape: [null, ...net.input] }, onnxOutputs(outputs), maps),
          weights: fileWeights,
        };
      };
      const key = {
        graphModel: await fileIdentity([file.path, ...file.files]),
        outputs,
        input: shapes.get(file.input.name),
        translator: TRANSLATOR_VERSIONS.graph,
      };
      return { key, weights: fileWeights, build };
    },
    async startEngine(chosen, request) {
      checkChoices(request);
      const outputs = chosen.map((layer) => nodeOf(layer).name);
      const forward = await translatedOrTfjs(
        request,
        () => onnxForward(file, { name: net.name, shapes }, outputs, request),
        () => tfjsForward(file, outputs, request),
      );
      return { weights: fileWeights, forward };
    },
  };
}
