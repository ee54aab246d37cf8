/**
 * Output shapes of TensorFlow graph nodes (NHWC), from the input's shape, the constants' dims
 * and the nodes' attributes. One rule per op; an op not here leaves its output unknown ('?').
 */
import { shiftWindow, type LayerWindow, type Shape } from '../../net/net.js';
import { messageOf } from '../../errors.js';
import { sameOutputLength, windowOutputLength } from '../../net/geometry.js';
import type { Json } from '../json.js';

export interface GraphNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, Json>;
}

/** A node input's source node ('name:1' and '^control' forms to the node's name). */
export const sourceOf = (input: string): string => input.replace(/^\^/, '').replace(/:\d+$/, '');

const decode = (s: string): string => Buffer.from(s, 'base64').toString('utf8');
export const attrString = (node: GraphNode, key: string): string | undefined =>
  node.attr?.[key]?.s !== undefined ? decode(node.attr[key].s) : undefined;
export const attrInts = (node: GraphNode, key: string): number[] | undefined => node.attr?.[key]?.list?.i?.map(Number);
export const attrStrings = (node: GraphNode, key: string): string[] => (node.attr?.[key]?.list?.s ?? []).map(decode);
const attrBool = (node: GraphNode, key: string): boolean => Boolean(node.attr?.[key]?.b);

interface Known {
  values(name: string): number[] | undefined;
}
type Rule = (node: GraphNode, inputs: Array<Shape | undefined>, known: Known) => Shape | undefined;

/** The window of a conv or pool node over an NHWC input (kernel: the filter's, or ksize). */
export function graphWindow(node: GraphNode, kernel: [number, number]): LayerWindow {
  const [, sh, sw] = attrInts(node, 'strides') ?? [1, 1, 1, 1];
  const [, dh, dw] = attrInts(node, 'dilations') ?? [1, 1, 1, 1];
  const padding = attrString(node, 'padding') ?? 'VALID';
  const window = { kernel, strides: [sh, sw] as [number, number], dilations: [dh, dw] as [number, number] };
  if (padding === 'EXPLICIT') {
    // (N, H, W, C) pairs of [before, after].
    const e = attrInts(node, 'explicit_paddings') ?? [];
    return { ...window, padding: [e[2], e[4], e[3], e[5]] };
  }
  if (padding !== 'SAME' && padding !== 'VALID') throw new Error(`padding ${padding}`);
  return { ...window, padding: padding === 'SAME' ? 'same' : 'valid' };
}

/** The window of a node that has one: convolutions, pools, and Pad (a shift); undefined for the rest. */
export function nodeWindow(
  node: GraphNode,
  weightShape: number[] | undefined,
  values: (name: string) => number[] | undefined,
): LayerWindow | undefined {
  try {
    return windowOfNode(node, weightShape, values);
  } catch {
    return undefined; // a padding TensorFlow does not define: no field through it
  }
}

function windowOfNode(
  node: GraphNode,
  weightShape: number[] | undefined,
  values: (name: string) => number[] | undefined,
): LayerWindow | undefined {
  if ((CONV_OPS.has(node.op) || DEPTHWISE_OPS.has(node.op)) && weightShape)
    return graphWindow(node, [weightShape[0], weightShape[1]]);
  if (node.op === 'MaxPool' || node.op === 'AvgPool') {
    const [, kh, kw] = attrInts(node, 'ksize') ?? [1, 1, 1, 1];
    return graphWindow(node, [kh, kw]);
  }
  if (node.op === 'Pad' || node.op === 'MirrorPad') {
    const p = values(sourceOf(node.input![1]));
    return p && shiftWindow([p[2], p[4], p[3], p[5]]);
  }
  return undefined;
}

export const CONV_OPS = new Set(['Conv2D', '_FusedConv2D']);
export const DEPTHWISE_OPS = new Set(['DepthwiseConv2dNative', 'FusedDepthwiseConv2dNative']);

function windowed(node: GraphNode, x: Shape, kernel: [number, number], channels: number | null): Shape {
  const { strides, dilations, padding } = graphWindow(node, kernel);
  const size = (length: number | null, axis: 0 | 1) => {
    if (length === null) return null;
    if (padding === 'same') return sameOutputLength(length, strides[axis]);
    const pads = padding === 'valid' ? 0 : padding[axis] + padding[axis + 2];
    return windowOutputLength(length, kernel[axis], strides[axis], pads, dilations[axis]);
  };
  return [x[0], size(x[1], 0), size(x[2], 1), channels];
}

const conv: Rule = (node, [x, w]) => x && w && windowed(node, x, [w[0] as number, w[1] as number], w[3]);
const depthwise: Rule = (node, [x, w]) =>
  x &&
  w &&
  windowed(
    node,
    x,
    [w[0] as number, w[1] as number],
    w[2] === null || w[3] === null ? null : (w[2] as number) * (w[3] as number),
  );
const pool: Rule = (node, [x]) => {
  const [, kh, kw] = attrInts(node, 'ksize') ?? [1, 1, 1, 1];
  return x && windowed(node, x, [kh, kw], x[3]);
};
const same: Rule = (_node, [x]) => x && [...x];
const broadcast: Rule = (_node, inputs) => {
  const shapes = inputs.filter((s): s is Shape => !!s);
  if (shapes.length !== inputs.length) return undefined;
  const rank = Math.max(...shapes.map((s) => s.length));
  return Array.from({ length: rank }, (_, i): number | null => {
    const dims = shapes.map((s) => (s.length - rank + i >= 0 ? s[s.length - rank + i] : 1)).filter((d) => d !== 1);
    return dims.length === 0 ? 1 : (dims.find((d) => d !== null) ?? null);
  });
};
const axisOf = (axis: number, rank: number): number => (axis < 0 ? rank + axis : axis);
const concat: Rule = (node, inputs, known) => {
  const axis = known.values(sourceOf(node.input![node.input!.length - 1]))?.[0];
  const parts = inputs.slice(0, -1);
  if (axis === undefined || parts.some((s) => !s)) return undefined;
  const a = axisOf(axis, parts[0]!.length);
  const out = [...parts[0]!];
  const sizes = parts.map((s) => s![a]);
  out[a] = sizes.includes(null) ? null : (sizes as number[]).reduce((p, q) => p + q, 0);
  return out;
};
const pad: Rule = (node, [x], known) => {
  const p = known.values(sourceOf(node.input![1]));
  return x && p && x.map((d, i) => (d === null ? null : d + p[2 * i] + p[2 * i + 1]));
};
const mean: Rule = (node, [x], known) => {
  const axes = known.values(sourceOf(node.input![1]))?.map((a) => axisOf(a, x?.length ?? 0));
  if (!x || !axes) return undefined;
  return attrBool(node, 'keep_dims')
    ? x.map((d, i) => (axes.includes(i) ? 1 : d))
    : x.filter((_, i) => !axes.includes(i));
};
const squeeze: Rule = (node, [x]) => {
  const dims = attrInts(node, 'squeeze_dims')?.map((a) => axisOf(a, x?.length ?? 0));
  return x && x.filter((d, i) => (dims?.length ? !dims.includes(i) : d !== 1));
};
const reshape: Rule = (node, [x], known) => {
  const target = known.values(sourceOf(node.input![1]));
  if (!x || !target) return undefined;
  const total = x.some((d) => d === null) ? null : (x as number[]).reduce((a, b) => a * b, 1);
  const rest = target.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
  return target.map((d) => (d === -1 ? (total === null ? null : total / rest) : d));
};
const matmul: Rule = (node, [a, b]) => {
  if (!a || !b) return undefined;
  const m = node.attr?.transpose_a?.b ? a[1] : a[0];
  const n = node.attr?.transpose_b?.b ? b[0] : b[1];
  return [m, n];
};

const RULES: Record<string, Rule> = {
  Conv2D: conv,
  _FusedConv2D: conv,
  DepthwiseConv2dNative: depthwise,
  FusedDepthwiseConv2dNative: depthwise,
  MaxPool: pool,
  AvgPool: pool,
  ...Object.fromEntries(
    [
      'Relu',
      'Relu6',
      'Elu',
      'Selu',
      'Sigmoid',
      'Tanh',
      'Softmax',
      'Identity',
      'LeakyRelu',
      'FusedBatchNorm',
      'FusedBatchNormV3',
      'Rsqrt',
      'Sqrt',
      'Neg',
    ].map((op) => [op, same]),
  ),
  ...Object.fromEntries(
    ['BiasAdd', 'Add', 'AddV2', 'Mul', 'Sub', 'RealDiv', 'Maximum', 'Minimum', 'AddN'].map((op) => [op, broadcast]),
  ),
  ConcatV2: concat,
  Pad: pad,
  MirrorPad: pad,
  Mean: mean,
  Max: mean,
  Squeeze: squeeze,
  Reshape: reshape,
  MatMul: matmul,
  _FusedMatMul: matmul,
};

/** Every node's output shape, nodes in dependency order (a graph model lists them so). */
export function inferGraphShapes(
  nodes: GraphNode[],
  constants: Map<string, { shape: number[]; values?: number[] }>,
  onProblem: (node: GraphNode, reason: string) => void = () => undefined,
): Map<string, Shape> {
  const shapes = new Map<string, Shape>();
  const known: Known = { values: (name) => constants.get(name)?.values };
  for (const node of nodes) {
    const constant = constants.get(node.name);
    if (node.op === 'Const' && constant) {
      shapes.set(node.name, constant.shape);
      continue;
    }
    if (node.op === 'Placeholder') {
      const dims = node.attr?.shape?.shape?.dim ?? [];
      shapes.set(
        node.name,
        dims.map((d: { size?: string }) => (Number(d.size ?? -1) > 0 ? Number(d.size) : null)),
      );
      continue;
    }
    const inputs = (node.input ?? []).filter((i) => !i.startsWith('^')).map((i) => shapes.get(sourceOf(i)));
    let output: Shape | undefined;
    try {
      output = RULES[node.op]?.(node, inputs, known);
    } catch (err) {
      output = undefined; // the shape stays unknown, and says why
      onProblem(node, messageOf(err));
    }
    if (output) shapes.set(node.name, output);
  }
  return shapes;
}
