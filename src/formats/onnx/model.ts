/**
 * The ONNX adapter: a file exported from PyTorch (torch.onnx.export) or any other tool, run
 * as it is on ONNX Runtime with the chosen tensors added as graph outputs. One layer per
 * node, named as exported (`/layer1/layer1.0/relu/Relu`); image tensors are NCHW.
 */
import { createHash } from 'node:crypto';
import { readFile, realpath, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { makeFolder } from '../../folders.js';
import { writeFileAtomic } from '../../output/files.js';
import { CnnvizError, messageOf, runtimeError, usageError } from '../../errors.js';
import { isChain, mapDims, type Kernel, type LayerRole, type Net, type NetLayer, type Shape } from '../../net/net.js';
import { timed } from '../../timings.js';
import type { Model, OpenOptions } from '../types.js';
import { keepNewest } from '../../engines/onnx-cache.js';
import {
  decodeModel,
  dimsOf,
  encodeModel,
  elementCount,
  FLOAT_TYPES,
  weightValues,
  floatOutput,
  transposeNode,
  floatValues,
  intValues,
  onnx,
  toNumber,
  type GraphProto,
  type ModelProto,
  type NodeProto,
  type TensorProto,
  type ValueInfoProto,
} from '../../graph/proto.js';
import { inferTensorShapes, onnxWindow } from '../../graph/shapes.js';
import { checkExternalData, inlineExternalData } from './external.js';

import { loadOrt, ortReason, preparedForward } from '../../engines/onnx-runtime.js';

/** The model's image input: its name, layout and shape (batch first, as the file declares it). */
interface ImageInput {
  name: string;
  layout: 'nchw' | 'nhwc';
  shape: Shape;
}

const shapeOf = (info: ValueInfoProto): Shape | undefined => {
  const dims = info.type?.tensorType?.shape?.dim;
  if (!dims) return undefined;
  return dims.map((d) =>
    d.dimValue !== undefined && d.dimValue !== null && toNumber(d.dimValue) > 0 && !d.dimParam
      ? toNumber(d.dimValue)
      : null,
  );
};

function imageInput(path: string, graph: GraphProto, size?: [number, number]): ImageInput {
  const initializers = new Set(graph.initializer.map((t) => t.name));
  // Older exporters list the initializers among the inputs too.
  const inputs = graph.input.filter((i) => !initializers.has(i.name));
  if (inputs.length !== 1)
    throw usageError(
      `'${path}' has ${inputs.length} inputs (${inputs.map((i) => i.name).join(', ')}); cnnviz feeds one image`,
    );
  const shape = shapeOf(inputs[0]);
  if (shape?.length !== 4)
    throw usageError(
      `'${path}' takes input '${inputs[0].name}' of shape ${JSON.stringify(shape ?? '?')}; cnnviz feeds images (N, C, H, W)`,
    );
  const layout = shape[3] === 3 && shape[1] !== 3 ? 'nhwc' : 'nchw';
  if (!size) return { name: inputs[0].name, layout, shape };
  const [width, height] = size;
  return {
    name: inputs[0].name,
    layout,
    shape: layout === 'nchw' ? [shape[0], shape[1], height, width] : [shape[0], height, width, shape[3]],
  };
}

/** Where each kind of convolution takes its kernel: quantized ones keep scales and zero points beside it. */
const KERNEL_INPUT: Record<string, number> = { Conv: 1, ConvInteger: 1, QLinearConv: 3 };

function roleOf(opType: string): LayerRole {
  if (opType in KERNEL_INPUT) return 'conv';
  if (opType === 'Pad') return 'pad';
  return 'other';
}

/**
 * Shapes from the file's value_info where it gives them in full (and the input keeps its
 * size), else inferred. Returns which way each was found, for --verbose.
 */
function tensorShapes(
  graph: GraphProto,
  input: ImageInput,
  resized: boolean,
): { shapes: Map<string, Shape>; fromFile: number; inferred: number; problems: string[] } {
  const problems: string[] = [];
  const inferred = inferTensorShapes(graph, { name: input.name, shape: input.shape }, (node, reason) =>
    problems.push(`shape of '${node.name || node.output[0]}' (${node.opType}) unknown: ${reason}`),
  );
  const declared = new Map<string, Shape>();
  if (!resized) {
    for (const info of [...graph.valueInfo, ...graph.output]) {
      const shape = shapeOf(info);
      if (!shape || shape.slice(1).some((d) => d === null)) continue;
      // Exporters trace with a batch of one: where the input's batch is free, so is the tensor's.
      if (inferred.get(info.name)?.[0] === null) shape[0] = null;
      declared.set(info.name, shape);
    }
  }
  const shapes = new Map([...inferred, ...declared]);
  const outputs = graph.node.map((n) => n.output[0]);
  return {
    shapes,
    fromFile: outputs.filter((o) => declared.has(o)).length,
    inferred: outputs.filter((o) => !declared.has(o) && inferred.has(o)).length,
    problems,
  };
}

/**
 * A kernel's values: a quantized convolution's as (w - zero point) * scale (ConvInteger's scale
 * is applied after it, outside the node: its kernel is w - zero point), per tensor or per output
 * channel.
 */
function dequantized(
  opType: string,
  weight: TensorProto,
  initializer: (input: number) => TensorProto | undefined,
): Float32Array {
  const values = weightValues(weight);
  if (opType !== 'ConvInteger' && opType !== 'QLinearConv') return values;
  const [zeroPoint, scale] = opType === 'ConvInteger' ? [initializer(3), undefined] : [initializer(5), initializer(4)];
  const zp = zeroPoint ? weightValues(zeroPoint) : Float32Array.of(0);
  const s = scale ? floatValues(scale) : Float32Array.of(1);
  const perChannel = values.length / dimsOf(weight)[0];
  return values.map((v, i) => {
    const out = Math.floor(i / perChannel);
    return (v - zp[zp.length > 1 ? out : 0]) * s[s.length > 1 ? out : 0];
  });
}

/** Where quantized ops take their integer weights: the inputs counted as parameters. */
const QUANTIZED_WEIGHT_INPUTS: Record<string, number[]> = {
  ConvInteger: [1],
  MatMulInteger: [0, 1],
  QLinearConv: [3],
  QLinearMatMul: [0, 3],
  DequantizeLinear: [0],
};
const INTEGER_WEIGHT_TYPES: ReadonlySet<number> = new Set([
  onnx.TensorProto.DataType.INT8,
  onnx.TensorProto.DataType.UINT8,
]);

export function onnxNet(name: string, graph: GraphProto, input: ImageInput, shapes: Map<string, Shape>): Net {
  const floats = new Map(
    graph.initializer.filter((t) => FLOAT_TYPES.has(t.dataType)).map((t) => [t.name, elementCount(dimsOf(t))]),
  );
  // int8 and uint8 initializers a quantized op reads as its weights (not zero points or scales).
  const integers = new Map(
    graph.initializer.filter((t) => INTEGER_WEIGHT_TYPES.has(t.dataType)).map((t) => [t.name, elementCount(dimsOf(t))]),
  );
  const quantizedInputs = (node: NodeProto) =>
    (QUANTIZED_WEIGHT_INPUTS[node.opType] ?? []).map((i) => node.input[i]).filter((i) => i && integers.has(i));
  const quantized = new Map<string, number>();
  for (const node of graph.node) for (const i of quantizedInputs(node)) quantized.set(i, integers.get(i)!);
  const producer = new Map<string, string>();
  const seen = new Map<string, number>();
  const layers: NetLayer[] = [];
  const padValues = (node: NodeProto) => {
    const t = node.opType === 'Pad' ? graph.initializer.find((i) => i.name === node.input[1]) : undefined;
    return t && intValues(t);
  };
  // Unnamed nodes go by their first output; a repeated name gets #2, #3 ...
  const names = graph.node.map((node) => {
    const base = node.name || node.output[0];
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    return n === 1 ? base : `${base}#${n}`;
  });
  // Every producer first: a node fed by one listed after it (an unsorted file, or a cycle) keeps that input.
  graph.node.forEach((node, index) => node.output.forEach((o) => producer.set(o, names[index])));
  graph.node.forEach((node, index) => {
    const layerName = names[index];
    const outputShape = shapes.get(node.output[0]);
    const params = [...new Set(node.input)].reduce(
      (sum, i) => sum + (floats.get(i) ?? 0) + (quantizedInputs(node).includes(i) ? quantized.get(i)! : 0),
      0,
    );
    const kernelInput = KERNEL_INPUT[node.opType];
    const weight =
      kernelInput === undefined ? undefined : graph.initializer.find((t) => t.name === node.input[kernelInput]);
    layers.push({
      index,
      depth: 0,
      name: layerName,
      type: node.opType,
      role: roleOf(node.opType),
      inputs: node.input.map((i) => producer.get(i)).filter((p): p is string => p !== undefined),
      ...(node.input.includes(input.name) ? { readsInput: true } : {}),
      outputShape,
      mapShape: mapDims(outputShape, input.layout === 'nhwc' ? 'channels_last' : 'channels_first'),
      params,
      ...(weight ? { kernelShape: dimsOf(weight) } : {}),
      aliases: node.output.filter((o) => o !== layerName),
      window: onnxWindow(
        node,
        shapes.get(node.input[0]),
        weight && dimsOf(weight).slice(2),
        padValues(node),
        input.layout === 'nhwc',
      ),
    });
  });
  const quantizedTotal = [...quantized.values()].reduce((a, b) => a + b, 0);
  const total = [...floats.values()].reduce((a, b) => a + b, 0) + quantizedTotal;
  return {
    name,
    format: 'onnx',
    layers,
    input: mapDims(input.shape, input.layout === 'nhwc' ? 'channels_last' : 'channels_first')!,
    params: { total, ...(quantizedTotal ? { quantized: quantizedTotal } : {}) },
    unknown: layers.filter((l) => !l.outputShape).map((l) => l.name),
    sequential: isChain(layers),
  };
}

/** ONNX Conv weights (out, in / groups, kh, kw) to the core's (kh, kw, in / groups, out). */
export function onnxKernel(weight: Float32Array, [cout, cin, kh, kw]: number[]): Kernel {
  const data = new Float32Array(weight.length);
  for (let f = 0; f < cout; f++)
    for (let c = 0; c < cin; c++)
      for (let i = 0; i < kh; i++)
        for (let j = 0; j < kw; j++)
          data[((i * kw + j) * cin + c) * cout + f] = weight[((f * cin + c) * kh + i) * kw + j];
  return { shape: [kh, kw, cin, cout], data };
}

/** Height times width of the image input; undefined while free. */
function inputPixels(input: ImageInput): number | undefined {
  const [h, w] = mapDims(input.shape, input.layout === 'nhwc' ? 'channels_last' : 'channels_first')!;
  return typeof h === 'number' && typeof w === 'number' ? h * w : undefined;
}

/** The names the prepared model's channels-last float32 input and outputs go by. */
const PREPARED_INPUT = 'cnnviz_input';
const preparedOutput = (tensor: string) => `${tensor}:cnnviz`;

const castNode = (input: string, output: string, to: number): NodeProto =>
  onnx.NodeProto.create({
    opType: 'Cast',
    name: output,
    input: [input],
    output: [output],
    attribute: [{ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: to }],
  }) as unknown as NodeProto;

/** The inputs holding the scale and zero point of a quantizing op's output. */
const QUANTIZED_OUTPUT: Record<string, [scale: number, zeroPoint: number]> = {
  QuantizeLinear: [1, 2],
  QLinearConv: [6, 7],
  QLinearMatMul: [6, 7],
};

/** A DequantizeLinear of a quantized tensor with its producer's scale and zero point; undefined for others. */
function dequantization(nodes: NodeProto[], tensor: string): NodeProto | undefined {
  const producer = nodes.find((n) => n.output[0] === tensor);
  const at = producer && QUANTIZED_OUTPUT[producer.opType];
  if (!producer || !at) return undefined;
  const output = `${tensor}:dequantized`;
  return onnx.NodeProto.create({
    opType: 'DequantizeLinear',
    name: output,
    input: [tensor, ...at.map((i) => producer.input[i]).filter((i) => i !== undefined && i !== '')],
    output: [output],
  }) as unknown as NodeProto;
}

/**
 * The file made ready for a session: its outputs are the chosen tensors alone (what only the
 * classifier needs is pruned), channels-last and float32 whatever the graph keeps them in: for
 * an NCHW model Transpose nodes take a channels-last input and give channels-last maps (ONNX
 * Runtime's multithreaded transposes replace copies in JavaScript), and Cast nodes bring a
 * float16 model's maps to float32 and cnnviz's float32 input to its type (a Cast to the same
 * type is removed by the runtime's optimiser). The input gets --size where given.
 */
function prepareForMaps(
  path: string,
  model: ModelProto,
  input: ImageInput,
  tensors: Array<{ name: string; rank: number }>,
): Uint8Array {
  // A new graph around the file's nodes: the decoded model stays as read (node indices are layer indices).
  inlineExternalData(path, model.graph);
  const { FLOAT } = onnx.TensorProto.DataType;
  const sized = (name: string, shape: Shape) => {
    const info = floatOutput(name);
    info.type!.tensorType!.shape = { dim: shape.map((d, i) => (d === null ? { dimParam: `d${i}` } : { dimValue: d })) };
    return info;
  };
  const declared = model.graph.input.find((i) => i.name === input.name);
  const inputType = declared?.type?.tensorType?.elemType ?? FLOAT;
  const others = model.graph.input.filter((i) => i.name !== input.name);
  const nchw = input.layout === 'nchw';
  const [n, c, h, w] = input.shape;
  // cnnviz's input (NHWC float32) -> the graph's (its layout, its type).
  const transposed = nchw ? `${PREPARED_INPUT}:nchw` : PREPARED_INPUT;
  const inputNodes = [
    ...(nchw ? [transposeNode(PREPARED_INPUT, inputType === FLOAT ? input.name : transposed, [0, 3, 1, 2])] : []),
    ...(inputType !== FLOAT || !nchw ? [castNode(nchw ? transposed : PREPARED_INPUT, input.name, inputType)] : []),
  ];
  // Each chosen tensor -> channels-last float32 under its prepared name. A Cast that makes a graph
  // output is a copy the runtime cannot remove (ResNet-50's five stages: 31 ms against 20), so
  // only a model with float16 in it gets them.
  const { FLOAT16 } = onnx.TensorProto.DataType;
  const float16 =
    inputType === FLOAT16 ||
    model.graph.initializer.some((t) => t.dataType === FLOAT16) ||
    model.graph.node.some(
      (node) => node.opType === 'Cast' && node.attribute.some((a) => a.name === 'to' && toNumber(a.i) === FLOAT16),
    );
  const outputNodes = tensors.flatMap(({ name: tensor, rank }): NodeProto[] => {
    // A quantized map (int8 or uint8) is drawn as the values it stands for.
    const dequantize = dequantization(model.graph.node, tensor);
    const name = dequantize ? dequantize.output[0] : tensor;
    const transpose = nchw && rank === 4;
    const last = transpose && float16 ? `${name}:nhwc` : name;
    return [
      ...(dequantize ? [dequantize] : []),
      ...(transpose ? [transposeNode(name, float16 ? last : preparedOutput(tensor), [0, 2, 3, 1])] : []),
      ...(float16 ? [castNode(last, preparedOutput(tensor), FLOAT)] : []),
      ...(!transpose && !float16 ? [castNode(name, preparedOutput(tensor), FLOAT)] : []),
    ];
  });
  const graph = {
    ...model.graph,
    input: [sized(PREPARED_INPUT, nchw ? [n, h, w, c] : input.shape), ...others],
    node: [...inputNodes, ...model.graph.node, ...outputNodes],
    output: tensors.map(({ name }) => floatOutput(preparedOutput(name))),
  };
  return encodeModel({ ...model, graph });
}

/** What a run needs of the file when its prepared model is cached: kept beside that cache. */
interface Description {
  name: string;
  input: ImageInput;
  net: Net;
  /** The output tensor of each layer (node). */
  tensors: Record<string, string>;
  details: string[];
}

/** Bumped when a description's form or content changes, so older ones are not read. */
const DESCRIPTION_VERSION = 7;
const MAX_DESCRIPTIONS = 16;
const MAX_ONNX_FILE = 2 ** 31 - 1;

function describe(path: string, model: ModelProto, options: OpenOptions): Description {
  const { graph } = model;
  const input = imageInput(path, graph, options.size);
  const { shapes, fromFile, inferred, problems } = tensorShapes(graph, input, Boolean(options.size));
  const name =
    graph.name && !/^(main_graph|torch[-_]jit([-_]export)?)$/.test(graph.name)
      ? graph.name
      : basename(path).replace(/\.onnx$/i, '');
  const net = onnxNet(name, graph, input, shapes);
  const tensors = Object.fromEntries(net.layers.map((l) => [l.name, graph.node[l.index!].output[0]]));
  const opsets = model.opsetImport?.map((o) => toNumber(o.version)).join(', ') || '?';
  const shapesNote = `shapes: ${fromFile} of ${graph.node.length} node outputs from the file's value_info, ${inferred} inferred${net.unknown.length ? `, ${net.unknown.length} unknown` : ''}`;
  return {
    name,
    input,
    net,
    tensors,
    details: [`ONNX file, opset ${opsets}, ${graph.node.length} nodes`, shapesNote, ...problems],
  };
}

/**
 * The description of a file is kept in the cache, keyed by the file's path, size and time:
 * a run whose prepared model is cached too never reads the file (100 MB for a ResNet-50).
 */
async function cachedDescription(
  folder: string | undefined,
  key: string,
  make: () => Promise<Description>,
): Promise<{ description: Description; fromCache: boolean }> {
  const file = folder && join(folder, `${key}.json`);
  if (file) {
    const description = sealedDescription(await readFile(file, 'utf8').catch(() => undefined));
    if (description) return { description, fromCache: true };
    // None yet, or damaged or edited (its seal does not match): made again below.
  }
  const description = await make();
  if (folder && file) {
    await makeFolder(folder)
      .then(() => writeFileAtomic(file, new TextEncoder().encode(sealDescription(description))))
      .then(() => keepNewest(folder, MAX_DESCRIPTIONS, (name) => name.endsWith('.json')))
      .catch(() => undefined); // only an optimisation: a cache that cannot be written costs a read
  }
  return { description, fromCache: false };
}

/**
 * A description as stored: its JSON and that text's SHA-256, so that a file cut short, edited
 * or of another shape is not trusted (hashing 50 KB costs well under a millisecond; a schema
 * library would add 40 ms to every warm run).
 */
const digestOf = (text: string): string => createHash('sha256').update(text).digest('hex');
const sealDescription = (description: Description): string => {
  const body = JSON.stringify(description);
  return JSON.stringify({ sha256: digestOf(body), body });
};
function sealedDescription(text: string | undefined): Description | undefined {
  try {
    const { sha256, body } = JSON.parse(text ?? 'null') ?? {};
    return typeof body === 'string' && sha256 === digestOf(body) ? (JSON.parse(body) as Description) : undefined;
  } catch {
    return undefined;
  }
}

export async function openOnnxModel(path: string, options: OpenOptions): Promise<Model> {
  // What cached things made from this file depend on: the file as it is now.
  const { size, mtimeMs } = await stat(path).catch(() => {
    throw usageError(`model file '${path}' cannot be read`);
  });
  // Protobuf caps a message at 2 GB; larger models keep their weights in external data files.
  if (size > MAX_ONNX_FILE)
    throw usageError(
      `'${path}' is ${(size / 2 ** 30).toFixed(1)} GB; an ONNX file holds at most 2 GB (larger models keep their weights in external data beside it)`,
    );
  const identity = { path: await realpath(path), size, mtimeMs };
  let decoded: ModelProto | undefined;
  const load = async (): Promise<ModelProto> => {
    if (!decoded) {
      decoded = decodeModel(path, await timed('read .onnx', () => readFile(path)));
      checkExternalData(path, decoded.graph);
    }
    return decoded;
  };
  const key = createHash('sha256')
    .update(JSON.stringify({ identity, size: options.size ?? null, version: DESCRIPTION_VERSION }))
    .digest('hex')
    .slice(0, 32);
  const folder = options.cacheDir && join(options.cacheDir, 'onnx', 'descriptions');
  const { description, fromCache } = await cachedDescription(folder, key, async () =>
    describe(path, await load(), options),
  );
  const { name, input, net, tensors } = description;
  const fileWeights = { description: `from the model file (${path})`, random: false };
  const checkChoices = ({ engine, weights }: { engine?: string; weights?: string }) => {
    if (weights !== undefined && weights !== 'imagenet')
      throw usageError(`--weights ${weights}: an ONNX model carries its own weights; leave --weights out`);
    if (engine !== undefined && engine !== 'auto' && engine !== 'onnx')
      throw usageError(`--backend ${engine}: ONNX models run on ONNX Runtime; use --backend onnx (or auto)`);
  };
  return {
    net,
    details: [...description.details, ...(fromCache ? ['description from the cache (the file unchanged since)'] : [])],
    preprocess: 'torch',
    preprocessNote: "'torch' (pixels / 255, ImageNet mean and std), the default for ONNX models",
    bgr: false,
    checkChoices,
    async netAt(side) {
      const { graph } = await load();
      const [n, a, , c] = input.shape;
      const resized: ImageInput = {
        ...input,
        shape: input.layout === 'nchw' ? [n, a, side, side] : [n, side, side, c],
      };
      return onnxNet(name, graph, resized, inferTensorShapes(graph, resized));
    },
    async readKernel(layer, choice) {
      checkChoices(choice);
      const { graph } = await load();
      const node = graph.node[net.layers.find((l) => l.name === layer)!.index!];
      const initializer = (i: number) =>
        node.input[i] ? graph.initializer.find((t) => t.name === node.input[i]) : undefined;
      const weight = initializer(KERNEL_INPUT[node.opType] ?? 1);
      if (!weight)
        throw runtimeError(
          `the weights of '${layer}' are computed in the graph, not stored; cnnviz draws stored kernels`,
        );
      if (weight.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) inlineExternalData(path, graph);
      return {
        kernel: onnxKernel(dequantized(node.opType, weight, initializer), dimsOf(weight)),
        weights: fileWeights,
      };
    },
    async forwardGraph(layers, choice) {
      checkChoices(choice);
      const build = async () => {
        const model = await load();
        // The gradient builder reads weights from the graph: external data comes inside.
        inlineExternalData(path, model.graph);
        const layout = input.layout;
        return {
          model,
          input,
          tensors: layers.map((layer) => {
            const shape = net.layers.find((l) => l.name === layer)!.outputShape;
            return { name: tensors[layer], layout: shape?.length === 4 ? layout : ('flat' as const) };
          }),
          weights: fileWeights,
        };
      };
      return { key: { onnxFile: identity, layers, input: input.shape }, weights: fileWeights, build };
    },
    async startEngine(layers, request) {
      checkChoices(request);
      const ort = await loadOrt();
      const chosen = layers.map((layer) => ({
        name: tensors[layer],
        rank: net.layers.find((l) => l.name === layer)!.outputShape?.length ?? 0,
      }));
      try {
        const forward = await timed('build', () =>
          preparedForward(
            ort,
            {
              cacheDir: request.onnxCacheDir,
              key: { onnxFile: identity, outputs: chosen, input: input.shape, prepared: 4 },
              inputPixels: inputPixels(input),
              lanes: request.lanes,
              explain: request.explain,
              notice: request.notice,
              build: async () => prepareForMaps(path, await load(), input, chosen),
            },
            { input: PREPARED_INPUT, outputs: chosen.map(({ name }) => preparedOutput(name)) },
          ),
        );
        return { forward, weights: fileWeights };
      } catch (err) {
        if (err instanceof CnnvizError) throw err;
        throw runtimeError(`ONNX Runtime cannot run '${path}': ${ortReason(messageOf(err))}`);
      }
    },
  };
}
