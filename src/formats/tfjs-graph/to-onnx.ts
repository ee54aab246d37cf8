/**
 * Translates a TensorFlow.js graph model (its nodes, constants and inferred shapes) into an
 * in-memory ONNX graph whose outputs are the requested nodes. Tensors stay NHWC as in the
 * TensorFlow graph, so element-wise ops, axes, paddings and reshapes keep their meaning; each
 * convolution and pool is wrapped in a pair of transposes to ONNX's NCHW, and ONNX Runtime's
 * transpose optimiser cancels the pairs between neighbours (what is left is one transpose in
 * and one per output).
 */
import type { Shape } from '../../net/net.js';
import type { WeightArray } from '../../weights/h5.js';
import {
  activationNode,
  convWeight,
  depthwiseWeight,
  encodeTranslation,
  float,
  GraphBuilder,
  int,
  ints,
  NCHW_TO_NHWC,
  NHWC_TO_NCHW,
  string,
  windowAttributes,
} from '../../graph/build.js';
import { onnxInput, onnxOutputs, UntranslatableError } from '../../graph/translated.js';
import { attrInts, attrString, attrStrings, graphWindow, sourceOf, type GraphNode } from './shapes.js';

interface Context {
  b: GraphBuilder;
  node: GraphNode;
  /** The node's data inputs' source names (control inputs dropped). */
  sources: string[];
  /** The ONNX tensor of the i-th data input (a constant becomes an initialiser). */
  tensor(i: number): string;
  /** A constant input's stored values; throws when the input is computed. */
  constant(i: number): WeightArray;
  shape(i: number): Shape | undefined;
}

type Translate = (ctx: Context) => string;

const nchw = (b: GraphBuilder, x: string) => b.node('Transpose', [x], [ints('perm', NHWC_TO_NCHW)]);
const nhwc = (b: GraphBuilder, x: string) => b.node('Transpose', [x], [ints('perm', NCHW_TO_NHWC)]);

function checkNhwc(node: GraphNode): void {
  const format = attrString(node, 'data_format') ?? 'NHWC';
  if (format !== 'NHWC') throw new UntranslatableError(`'${node.name}' (${node.op}) in ${format}`);
}

const inputSize = (ctx: Context): [number | null, number | null] => [
  ctx.shape(0)?.[1] ?? null,
  ctx.shape(0)?.[2] ?? null,
];

/** An activation by TensorFlow op name, on x (fused ops name them so too). */
function activation(b: GraphBuilder, op: string, x: string, node: GraphNode): string {
  if (op === 'LeakyRelu')
    return b.node('LeakyRelu', [x], [float('alpha', node.attr?.alpha?.f ?? node.attr?.leakyrelu_alpha?.f ?? 0.2)]);
  const made = activationNode(b, op.toLowerCase(), x);
  if (!made) throw new UntranslatableError(`'${node.name}' (${node.op} with ${op})`);
  return made;
}

/** The ops fused into a _Fused* node, after its BiasAdd: the activation, if any. */
function fusedActivation(node: GraphNode): string | undefined {
  const fused = attrStrings(node, 'fused_ops');
  if (fused.length === 0) return undefined;
  if (fused[0] !== 'BiasAdd' || fused.length > 2)
    throw new UntranslatableError(`'${node.name}' (${node.op} fusing ${fused.join(', ')})`);
  return fused[1];
}

const convolution =
  (depthwise: boolean): Translate =>
  (ctx) => {
    const { b, node } = ctx;
    checkNhwc(node);
    const filter = ctx.constant(1);
    const [kh, kw, cin, m] = filter.shape;
    const cout = depthwise ? cin * m : m;
    const weight = depthwise
      ? b.constant('W', [cout, 1, kh, kw], depthwiseWeight(filter.data, filter.shape))
      : b.constant('W', [cout, cin, kh, kw], convWeight(filter.data, filter.shape));
    const fusedAct = node.op.startsWith('_Fused') || node.op.startsWith('Fused') ? fusedActivation(node) : undefined;
    const hasBias =
      (node.op.startsWith('_Fused') || node.op.startsWith('Fused')) && attrStrings(node, 'fused_ops')[0] === 'BiasAdd';
    const attributes = [
      ...windowAttributes(graphWindow(node, [kh, kw]), inputSize(ctx)),
      ...(depthwise ? [int('group', cin)] : []),
    ];
    const conv = b.node(
      'Conv',
      [nchw(b, ctx.tensor(0)), weight, ...(hasBias ? [b.constant('B', [cout], ctx.constant(2).data)] : [])],
      attributes,
    );
    return nhwc(b, fusedAct ? activation(b, fusedAct, conv, node) : conv);
  };

const pool =
  (opType: 'MaxPool' | 'AveragePool'): Translate =>
  (ctx) => {
    checkNhwc(ctx.node);
    const [, kh, kw] = attrInts(ctx.node, 'ksize') ?? [1, 1, 1, 1];
    return nhwc(
      ctx.b,
      ctx.b.node(
        opType,
        [nchw(ctx.b, ctx.tensor(0))],
        windowAttributes(graphWindow(ctx.node, [kh, kw]), inputSize(ctx)),
      ),
    );
  };

const matmul: Translate = (ctx) => {
  const { b, node } = ctx;
  const operand = (i: number, transposed: boolean) =>
    transposed ? b.node('Transpose', [ctx.tensor(i)], [ints('perm', [1, 0])]) : ctx.tensor(i);
  const product = b.node('MatMul', [operand(0, !!node.attr?.transpose_a?.b), operand(1, !!node.attr?.transpose_b?.b)]);
  if (node.op !== '_FusedMatMul') return product;
  const act = fusedActivation(node);
  const biased = b.node('Add', [product, ctx.tensor(2)]);
  return act ? activation(b, act, biased, node) : biased;
};

const batchNorm: Translate = (ctx) => {
  checkNhwc(ctx.node);
  const { b } = ctx;
  const stats = [1, 2, 3, 4].map((i) => b.constant('bn', ctx.constant(i).shape, ctx.constant(i).data));
  return nhwc(
    b,
    b.node(
      'BatchNormalization',
      [nchw(b, ctx.tensor(0)), ...stats],
      [float('epsilon', ctx.node.attr?.epsilon?.f ?? 1e-3)],
    ),
  );
};

const elementwise =
  (opType: string): Translate =>
  (ctx) =>
    ctx.b.node(opType, [ctx.tensor(0), ctx.tensor(1)]);

const unary =
  (opType: string): Translate =>
  (ctx) =>
    ctx.b.node(opType, [ctx.tensor(0)]);

const axisValues = (ctx: Context, i: number, rank: number) =>
  Array.from(ctx.constant(i).data, (a) => (a < 0 ? a + rank : a));

const reduce =
  (opType: 'ReduceMean' | 'ReduceMax'): Translate =>
  (ctx) => {
    const rank = ctx.shape(0)?.length;
    if (rank === undefined) throw new UntranslatableError(`'${ctx.node.name}' (${ctx.node.op}) of unknown rank`);
    return ctx.b.node(
      opType,
      [ctx.tensor(0)],
      [ints('axes', axisValues(ctx, 1, rank)), int('keepdims', ctx.node.attr?.keep_dims?.b ? 1 : 0)],
    );
  };

const pad: Translate = (ctx) => {
  const p = Array.from(ctx.constant(1).data);
  const mode = ctx.node.op === 'MirrorPad' ? attrString(ctx.node, 'mode') : 'CONSTANT';
  if (mode !== 'CONSTANT' && mode !== 'REFLECT')
    throw new UntranslatableError(`'${ctx.node.name}' (MirrorPad ${mode})`);
  const pads = ctx.b.int64s('pads', [...p.filter((_, i) => i % 2 === 0), ...p.filter((_, i) => i % 2 === 1)]);
  return ctx.b.node('Pad', [ctx.tensor(0), pads], mode === 'REFLECT' ? [string('mode', 'reflect')] : []);
};

const concat: Translate = (ctx) => {
  const last = ctx.sources.length - 1;
  const rank = ctx.shape(0)?.length ?? 4;
  const [axis] = axisValues(ctx, last, rank);
  return ctx.b.node(
    'Concat',
    ctx.sources.slice(0, last).map((_, i) => ctx.tensor(i)),
    [int('axis', axis)],
  );
};

const squeeze: Translate = (ctx) => {
  const rank = ctx.shape(0)?.length ?? 0;
  const dims = (attrInts(ctx.node, 'squeeze_dims') ?? []).map((a) => (a < 0 ? a + rank : a));
  return ctx.b.node('Squeeze', dims.length ? [ctx.tensor(0), ctx.b.int64s('axes', dims)] : [ctx.tensor(0)]);
};

const reshape: Translate = (ctx) =>
  ctx.b.node('Reshape', [ctx.tensor(0), ctx.b.int64s('shape', Array.from(ctx.constant(1).data))]);

const rsqrt: Translate = (ctx) => ctx.b.node('Reciprocal', [ctx.b.node('Sqrt', [ctx.tensor(0)])]);

const TRANSLATORS: Record<string, Translate> = {
  Conv2D: convolution(false),
  _FusedConv2D: convolution(false),
  DepthwiseConv2dNative: convolution(true),
  FusedDepthwiseConv2dNative: convolution(true),
  MaxPool: pool('MaxPool'),
  AvgPool: pool('AveragePool'),
  MatMul: matmul,
  _FusedMatMul: matmul,
  FusedBatchNorm: batchNorm,
  FusedBatchNormV3: batchNorm,
  BiasAdd: (ctx) => (checkNhwc(ctx.node), ctx.b.node('Add', [ctx.tensor(0), ctx.tensor(1)])),
  Add: elementwise('Add'),
  AddV2: elementwise('Add'),
  Sub: elementwise('Sub'),
  Mul: elementwise('Mul'),
  RealDiv: elementwise('Div'),
  Maximum: elementwise('Max'),
  Minimum: elementwise('Min'),
  AddN: (ctx) =>
    ctx.b.node(
      'Sum',
      ctx.sources.map((_, i) => ctx.tensor(i)),
    ),
  Relu: (ctx) => activation(ctx.b, 'Relu', ctx.tensor(0), ctx.node),
  Relu6: (ctx) => activation(ctx.b, 'Relu6', ctx.tensor(0), ctx.node),
  Elu: (ctx) => activation(ctx.b, 'Elu', ctx.tensor(0), ctx.node),
  Selu: (ctx) => activation(ctx.b, 'Selu', ctx.tensor(0), ctx.node),
  Sigmoid: (ctx) => activation(ctx.b, 'Sigmoid', ctx.tensor(0), ctx.node),
  Tanh: (ctx) => activation(ctx.b, 'Tanh', ctx.tensor(0), ctx.node),
  LeakyRelu: (ctx) => activation(ctx.b, 'LeakyRelu', ctx.tensor(0), ctx.node),
  Sqrt: unary('Sqrt'),
  Neg: unary('Neg'),
  Rsqrt: rsqrt,
  Identity: unary('Identity'),
  Softmax: (ctx) => ctx.b.node('Softmax', [ctx.tensor(0)], [int('axis', -1)]),
  Mean: reduce('ReduceMean'),
  Max: reduce('ReduceMax'),
  Pad: pad,
  MirrorPad: pad,
  ConcatV2: concat,
  Squeeze: squeeze,
  Reshape: reshape,
};

/** The graph-model ops the translation covers (the rest run on tfjs-converter). */
export const TRANSLATED_OPS = Object.keys(TRANSLATORS);

export interface GraphTranslationInput {
  name: string;
  nodes: GraphNode[];
  constants: Map<string, WeightArray>;
  shapes: Map<string, Shape>;
  /** The Placeholder node the image feeds. */
  input: string;
  /** Full node names, in the order the outputs are wanted. */
  outputs: string[];
}

/** The nodes `outputs` depend on, in the graph's order. */
function neededNodes(nodes: GraphNode[], outputs: string[]): GraphNode[] {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const needed = new Set<string>();
  const visit = (name: string): void => {
    if (needed.has(name)) return;
    needed.add(name);
    for (const i of byName.get(name)?.input ?? []) if (!i.startsWith('^')) visit(sourceOf(i));
  };
  outputs.forEach(visit);
  return nodes.filter((n) => needed.has(n.name));
}

/**
 * The ONNX model computing `outputs` (each channels-last, as the graph has it). Throws
 * UntranslatableError naming the first node it cannot express.
 */
export function translateGraphToOnnx({
  name,
  nodes,
  constants,
  shapes,
  input,
  outputs,
}: GraphTranslationInput): Uint8Array {
  const b = new GraphBuilder();
  const tensors = new Map<string, string>([[input, onnxInput]]);
  for (const node of neededNodes(nodes, outputs)) {
    if (node.op === 'Const' || node.name === input || node.op === 'NoOp') continue;
    const translate = TRANSLATORS[node.op];
    if (!translate) throw new UntranslatableError(`'${node.name}' (${node.op})`);
    const inputs = (node.input ?? []).filter((i) => !i.startsWith('^'));
    if (inputs.some((i) => /:[1-9]\d*$/.test(i)))
      throw new UntranslatableError(`'${node.name}' (${node.op}) reading a second output`);
    const sources = inputs.map(sourceOf);
    const constant = (i: number): WeightArray => {
      const value = constants.get(sources[i]);
      if (!value)
        throw new UntranslatableError(
          `'${node.name}' (${node.op}) with a computed ${i === 1 ? 'second' : `input ${i}`} input`,
        );
      return value;
    };
    const tensor = (i: number): string => {
      const known = tensors.get(sources[i]);
      if (known) return known;
      const value = constant(i);
      const made = b.constant(sources[i], value.shape, value.data);
      tensors.set(sources[i], made);
      return made;
    };
    tensors.set(node.name, translate({ b, node, sources, tensor, constant, shape: (i) => shapes.get(sources[i]) }));
  }
  const outputNames = onnxOutputs(outputs).map((outputName, i) =>
    b.node('Identity', [tensors.get(outputs[i])!], [], outputName),
  );
  const [, h, w, c] = shapes.get(input) ?? [null, null, null, null];
  return encodeTranslation(name, b, [h, w, c], outputNames);
}
