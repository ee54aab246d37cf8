/**
 * Output shapes of TensorFlow graph nodes, from the input's shape, the constants' dims and
 * the nodes' attributes. One rule per op; an op not here (or one whose shape follows from the
 * data, as NonMaxSuppression's) leaves its output unknown ('?'), and what it feeds with it.
 * Shape arithmetic is folded as it goes: small integer tensors computed from constants and
 * known shapes (Shape -> StridedSlice -> Pack -> ResizeBilinear) get values, so the ops they
 * feed are sized, and translated with them as constants.
 */
import { shiftWindow, type LayerWindow, type Shape } from '../../net/net.js';
import { messageOf } from '../../errors.js';
import { sameOutputLength, windowOutputLength } from '../../net/geometry.js';
import type { Json } from '../json.js';
import { clampSliceIndex, elementwiseValues, sliceLength, sliceValues, type SliceRange } from '../../graph/shapes.js';

export interface GraphNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, Json>;
}

/** A Placeholder's declared dims (-1: free, as null). */
export const placeholderDims = (node: GraphNode): Array<number | null> =>
  (node.attr?.shape?.shape?.dim ?? []).map((d: { size?: string }) =>
    Number(d.size ?? -1) > 0 ? Number(d.size) : null,
  );

/** A node input's source node ('name:1' and '^control' forms to the node's name). */
export const sourceOf = (input: string): string => input.replace(/^\^/, '').replace(/:\d+$/, '');

/** The key of the tensor a node input reads: the node's name for its first output, 'name:k' for the others. */
export const tensorOf = (input: string): string => input.replace(/^\^/, '').replace(/:0$/, '');

const decode = (s: string): string => Buffer.from(s, 'base64').toString('utf8');
export const attrString = (node: GraphNode, key: string): string | undefined =>
  node.attr?.[key]?.s !== undefined ? decode(node.attr[key].s) : undefined;
export const attrInts = (node: GraphNode, key: string): number[] | undefined => node.attr?.[key]?.list?.i?.map(Number);
export const attrStrings = (node: GraphNode, key: string): string[] => (node.attr?.[key]?.list?.s ?? []).map(decode);
export const attrInt = (node: GraphNode, key: string, fallback = 0): number =>
  node.attr?.[key]?.i !== undefined ? Number(node.attr[key].i) : fallback;
export const attrBool = (node: GraphNode, key: string): boolean => Boolean(node.attr?.[key]?.b);

/** A rule's output: one shape, or one per output of a node with several (Split, Unpack, TopKV2). */
type Output = Shape | { outputs: Shape[] };
type Rule = (
  node: GraphNode,
  inputs: Array<Shape | undefined>,
  values: Array<number[] | undefined>,
) => Output | undefined;

/** Channels-first graphs (converted from PyTorch or ONNX) mark their convolutions and pools so. */
export const isNchw = (node: GraphNode): boolean => attrString(node, 'data_format') === 'NCHW';
/** The (height, width) axes of a node's 4-d tensors. */
export const spatialAxes = (node: GraphNode): [number, number] => (isNchw(node) ? [2, 3] : [1, 2]);

/** The window of a conv or pool node (kernel: the filter's, or ksize). */
export function graphWindow(node: GraphNode, kernel: [number, number]): LayerWindow {
  const [ha, wa] = spatialAxes(node);
  const pick = (v: number[] | undefined): [number, number] => (v ? [v[ha], v[wa]] : [1, 1]);
  const padding = attrString(node, 'padding') ?? 'VALID';
  const window = { kernel, strides: pick(attrInts(node, 'strides')), dilations: pick(attrInts(node, 'dilations')) };
  if (padding === 'EXPLICIT') {
    // Per axis pairs of [before, after].
    const e = attrInts(node, 'explicit_paddings') ?? [];
    return { ...window, padding: [e[2 * ha], e[2 * wa], e[2 * ha + 1], e[2 * wa + 1]] };
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
    const ksize = attrInts(node, 'ksize') ?? [1, 1, 1, 1];
    const [ha, wa] = spatialAxes(node);
    return graphWindow(node, [ksize[ha], ksize[wa]]);
  }
  if (node.op === 'Pad' || node.op === 'MirrorPad') {
    const p = values(tensorOf(node.input![1]));
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
  const [ha, wa] = spatialAxes(node);
  const out = [...x];
  out[ha] = size(x[ha], 0);
  out[wa] = size(x[wa], 1);
  out[isNchw(node) ? 1 : 3] = channels;
  return out;
}

const product = (dims: Array<number | null>): number | null =>
  dims.some((d) => d === null) ? null : (dims as number[]).reduce((a, b) => a * b, 1);

const conv: Rule = (node, [x, w]) => x && w && windowed(node, x, [w[0] as number, w[1] as number], w[3]);
const depthwise: Rule = (node, [x, w]) =>
  x && w && windowed(node, x, [w[0] as number, w[1] as number], product([w[2], w[3]]));
const pool: Rule = (node, [x]) => {
  const ksize = attrInts(node, 'ksize') ?? [1, 1, 1, 1];
  const [ha, wa] = spatialAxes(node);
  return x && windowed(node, x, [ksize[ha], ksize[wa]], x[isNchw(node) ? 1 : 3]);
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
export const axisOf = (axis: number, rank: number): number => (axis < 0 ? rank + axis : axis);
const concat: Rule = (_node, inputs, values) => {
  const axis = values[values.length - 1]?.[0];
  const parts = inputs.slice(0, -1);
  if (axis === undefined || parts.some((s) => !s)) return undefined;
  const a = axisOf(axis, parts[0]!.length);
  const out = [...parts[0]!];
  const sizes = parts.map((s) => s![a]);
  out[a] = sizes.includes(null) ? null : (sizes as number[]).reduce((p, q) => p + q, 0);
  return out;
};
const pad: Rule = (_node, [x], [, p]) => x && p && x.map((d, i) => (d === null ? null : d + p[2 * i] + p[2 * i + 1]));
const reduce: Rule = (node, [x], [, axesValues]) => {
  const axes = axesValues?.map((a) => axisOf(a, x?.length ?? 0));
  if (!x || !axes) return undefined;
  return attrBool(node, 'keep_dims')
    ? x.map((d, i) => (axes.includes(i) ? 1 : d))
    : x.filter((_, i) => !axes.includes(i));
};
const squeeze: Rule = (node, [x]) => {
  const dims = attrInts(node, 'squeeze_dims')?.map((a) => axisOf(a, x?.length ?? 0));
  return x && x.filter((d, i) => (dims?.length ? !dims.includes(i) : d !== 1));
};
/** A reshape's target with -1 worked out (null where the input's size is unknown). */
export function reshaped(x: Shape, target: number[]): Shape {
  const total = product(x);
  const rest = target.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
  return target.map((d) => (d === -1 ? (total === null ? null : total / rest) : d));
}
const reshape: Rule = (_node, [x], [, target]) => {
  if (!x || !target) return undefined;
  // A target holding a size unknown until run (the batch, from Shape): that size, and any -1, stay unknown.
  if (target.some(Number.isNaN)) return target.map((d) => (d === -1 ? null : dimOfValue(d)));
  return reshaped(x, target);
};
const matmul: Rule = (node, [a, b]) => {
  if (!a || !b) return undefined;
  const m = node.attr?.transpose_a?.b ? a[1] : a[0];
  const n = node.attr?.transpose_b?.b ? b[0] : b[1];
  return [m, n];
};
const resize: Rule = (node, [x], [, size]) => {
  if (!x || !size) return undefined;
  const [ha, wa] = spatialAxes(node);
  const out = [...x];
  [out[ha], out[wa]] = size.map(dimOfValue);
  return out;
};
/** Conv2DBackpropInput (a transposed convolution): its output shape is its first input's values. */
const convBackprop: Rule = (_node, [, , x], [outputShape]) =>
  outputShape && [x?.[0] ?? null, ...outputShape.slice(1).map(dimOfValue)];
const depthToSpace: Rule = (node, [x]) => {
  const b = attrInt(node, 'block_size', 1);
  if (!x) return undefined;
  const scale = (d: number | null, f: number) => (d === null ? null : d * f);
  return node.op === 'DepthToSpace'
    ? [x[0], scale(x[1], b), scale(x[2], b), scale(x[3], 1 / (b * b))]
    : [x[0], scale(x[1], 1 / b), scale(x[2], 1 / b), scale(x[3], b * b)];
};
const spaceToBatch: Rule = (_node, [x], [, block, pads]) => {
  if (!x || !block || !pads) return undefined;
  const blocks = block.reduce((a, b) => a * b, 1);
  return [
    x[0] === null ? null : x[0] * blocks,
    ...block.map((b, i) => (x[i + 1] === null ? null : (x[i + 1]! + pads[2 * i] + pads[2 * i + 1]) / b)),
    ...x.slice(block.length + 1),
  ];
};
const batchToSpace: Rule = (_node, [x], [, block, crops]) => {
  if (!x || !block || !crops) return undefined;
  const blocks = block.reduce((a, b) => a * b, 1);
  return [
    x[0] === null ? null : x[0] / blocks,
    ...block.map((b, i) => (x[i + 1] === null ? null : x[i + 1]! * b - crops[2 * i] - crops[2 * i + 1])),
    ...x.slice(block.length + 1),
  ];
};

/** One axis of a strided slice, resolved as Python's slice would take it. */
export interface SliceAxis extends SliceRange {
  /** The input axis read (undefined: a new axis of size 1). */
  axis?: number;
  /** A single index: the axis is dropped (shrink_axis_mask). */
  shrink: boolean;
}

/**
 * StridedSlice's begin, end and strides with its five masks, resolved against the input's
 * shape as TensorFlow does: the ellipsis spans the axes the spec leaves out, new axes insert
 * ones, masked begins and ends take the axis' whole length, negative indices count from the end.
 */
export function stridedSlice(
  node: GraphNode,
  shape: Shape,
  begin: number[],
  end: number[],
  strides: number[],
): SliceAxis[] {
  const mask = (key: string) => attrInt(node, key);
  const [bm, em, ellipsis, newAxis, shrink] = [
    'begin_mask',
    'end_mask',
    'ellipsis_mask',
    'new_axis_mask',
    'shrink_axis_mask',
  ].map(mask);
  const bit = (m: number, i: number) => ((m >> i) & 1) === 1;
  const specAxes = begin.length - [...Array(begin.length).keys()].filter((i) => bit(newAxis, i)).length;
  const out: SliceAxis[] = [];
  let axis = 0;
  for (let i = 0; i < begin.length; i++) {
    if (bit(ellipsis, i)) {
      const spanned = shape.length - (specAxes - 1);
      for (let k = 0; k < spanned; k++, axis++)
        out.push({ axis, start: 0, stop: lengthOf(shape, axis), step: 1, shrink: false });
      continue;
    }
    if (bit(newAxis, i)) {
      out.push({ start: 0, stop: 1, step: 1, shrink: false });
      continue;
    }
    const length = lengthOf(shape, axis);
    const step = strides[i];
    const clamp = (v: number, forward: boolean) => clampSliceIndex(v, length, forward);
    if (bit(shrink, i)) {
      const at = begin[i] < 0 ? begin[i] + length : begin[i];
      out.push({ axis, start: at, stop: at + 1, step: 1, shrink: true });
    } else {
      const forward = step > 0;
      const start = bit(bm, i) ? (forward ? 0 : length - 1) : clamp(begin[i], forward);
      const stop = bit(em, i) ? (forward ? length : -1) : clamp(end[i], forward);
      out.push({ axis, start, stop, step, shrink: false });
    }
    axis++;
  }
  for (; axis < shape.length; axis++) out.push({ axis, start: 0, stop: lengthOf(shape, axis), step: 1, shrink: false });
  return out;
}

/** An axis' length; Infinity where it is unknown until run, so that a whole-axis slice of it stays whole. */
const lengthOf = (shape: Shape, axis: number): number => shape[axis] ?? Infinity;

const stridedSliceRule: Rule = (node, [x], [, begin, end, strides]) =>
  x &&
  begin &&
  end &&
  strides &&
  stridedSlice(node, x, begin, end, strides)
    .filter((a) => !a.shrink)
    .map(sliceLength);
const slice: Rule = (_node, [x], [, begin, size]) =>
  x && begin && size && size.map((s, i) => (s === -1 ? (x[i] === null ? null : x[i]! - begin[i]) : s));
const pack: Rule = (node, inputs) => {
  const [x] = inputs;
  if (!x) return undefined;
  const out = [...x];
  out.splice(axisOf(attrInt(node, 'axis'), x.length + 1), 0, inputs.length);
  return out;
};
const unpack: Rule = (node, [x]) => {
  if (!x) return undefined;
  const axis = axisOf(attrInt(node, 'axis'), x.length);
  const out = x.filter((_, i) => i !== axis);
  return { outputs: Array.from({ length: attrInt(node, 'num', x[axis] ?? 0) }, () => out) };
};
const shapeOf: Rule = (_node, [x]) => x && [x.length];
const transpose: Rule = (_node, [x], [, perm]) => x && perm && perm.map((p) => x[p]);
const split: Rule = (node, [axisShape, x], [axisValue]) => {
  if (!x || !axisValue || !axisShape) return undefined;
  const axis = axisOf(axisValue[0], x.length);
  const n = attrInt(node, 'num_split', 1);
  const out = [...x];
  out[axis] = x[axis] === null ? null : x[axis]! / n;
  return { outputs: Array.from({ length: n }, () => out) };
};
const splitV: Rule = (_node, [x], [, sizes, axisValue]) => {
  if (!x || !sizes || !axisValue) return undefined;
  const axis = axisOf(axisValue[0], x.length);
  const known = sizes.filter((s) => s !== -1).reduce((a, b) => a + b, 0);
  return {
    outputs: sizes.map((s) => {
      const out = [...x];
      out[axis] = s === -1 ? (x[axis] === null ? null : x[axis]! - known) : s;
      return out;
    }),
  };
};
const expandDims: Rule = (_node, [x], [, axis]) => {
  if (!x || !axis) return undefined;
  const out = [...x];
  out.splice(axisOf(axis[0], x.length + 1), 0, 1);
  return out;
};
const fill: Rule = (_node, _inputs, [dims]) => dims && dims.map(dimOfValue);
const tile: Rule = (_node, [x], [, multiples]) =>
  x && multiples && x.map((d, i) => (d === null ? null : d * multiples[i]));
const broadcastTo: Rule = (_node, [x], [, shape]) => x && shape && broadcast(_node, [x, shape.map(dimOfValue)], [])!;
const gather: Rule = (node, [params, indices], [, , axisValue]) => {
  if (!params || !indices) return undefined;
  const axis = node.op === 'Gather' ? 0 : axisValue && axisOf(axisValue[0], params.length);
  if (axis === undefined) return undefined;
  return [...params.slice(0, axis), ...indices, ...params.slice(axis + 1)];
};
const gatherNd: Rule = (_node, [params, indices]) => {
  const k = indices?.[indices.length - 1];
  return params && indices && typeof k === 'number' ? [...indices.slice(0, -1), ...params.slice(k)] : undefined;
};
const argMax: Rule = (_node, [x], [, axis]) => x && axis && x.filter((_, i) => i !== axisOf(axis[0], x.length));
const topK: Rule = (_node, [x], [, k]) => {
  if (!x || !k) return undefined;
  const out = [...x.slice(0, -1), k[0]];
  return { outputs: [out, out] };
};

/** Control flow: a Switch passes its data to one of two outputs, a Merge the input that came. */
const switchRule: Rule = (_node, [x]) => x && { outputs: [x, x] };
const merge: Rule = (_node, inputs) => {
  const known = inputs.find((s) => s !== undefined);
  const agree = inputs.every((s) => s && s.length === known?.length && s.every((d, i) => d === known[i]));
  return known && agree ? { outputs: [known, []] } : undefined;
};

const RULES: Record<string, Rule> = {
  Switch: switchRule,
  Merge: merge,
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
      'StopGradient',
      'Enter',
      'Exit',
      'NextIteration',
      'LeakyRelu',
      'Prelu',
      'BiasAdd',
      'FusedBatchNorm',
      'FusedBatchNormV3',
      'Rsqrt',
      'Sqrt',
      'Neg',
      'Square',
      'Abs',
      'Exp',
      'Log',
      'Floor',
      'Ceil',
      'Round',
      'Sign',
      'Reciprocal',
      'Softplus',
      'Cast',
    ].map((op) => [op, same]),
  ),
  ...Object.fromEntries(
    [
      'Add',
      'AddV2',
      'Mul',
      'Sub',
      'RealDiv',
      'Div',
      'Maximum',
      'Minimum',
      'AddN',
      'SquaredDifference',
      'FloorDiv',
      'FloorMod',
      'Pow',
      'Greater',
      'GreaterEqual',
      'Less',
      'LessEqual',
      'Equal',
      'SelectV2',
    ].map((op) => [op, broadcast]),
  ),
  ConcatV2: concat,
  Pad: pad,
  PadV2: pad,
  MirrorPad: pad,
  Mean: reduce,
  Max: reduce,
  Min: reduce,
  Sum: reduce,
  Prod: reduce,
  Squeeze: squeeze,
  Reshape: reshape,
  MatMul: matmul,
  _FusedMatMul: matmul,
  ResizeBilinear: resize,
  ResizeNearestNeighbor: resize,
  Conv2DBackpropInput: convBackprop,
  DepthToSpace: depthToSpace,
  SpaceToDepth: depthToSpace,
  SpaceToBatchND: spaceToBatch,
  BatchToSpaceND: batchToSpace,
  StridedSlice: stridedSliceRule,
  Slice: slice,
  Pack: pack,
  Unpack: unpack,
  Shape: shapeOf,
  Transpose: transpose,
  Split: split,
  SplitV: splitV,
  ExpandDims: expandDims,
  Fill: fill,
  Tile: tile,
  BroadcastTo: broadcastTo,
  Gather: gather,
  GatherV2: gather,
  GatherNd: gatherNd,
  ArgMax: argMax,
  ArgMin: argMax,
  TopKV2: topK,
};

/** Values of small integer tensors (shapes, sizes, indices), folded when every input's values are known. */
type Fold = (
  node: GraphNode,
  values: number[][],
  shapes: Array<Shape | undefined>,
  output: Shape,
) => number[] | undefined;

const elementwiseFold =
  (f: (a: number, b: number) => number): Fold =>
  (_node, [a, b]) =>
    elementwiseValues(a, b, f);

/** A row-major tensor's values gathered along one axis. */
function gatherValues(values: number[], shape: number[], axis: number, indices: number[]): number[] {
  const outer = shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const out: number[] = [];
  for (let o = 0; o < outer; o++)
    for (const index of indices) {
      const at = index < 0 ? index + shape[axis] : index;
      for (let k = 0; k < inner; k++) out.push(values[(o * shape[axis] + at) * inner + k]);
    }
  return out;
}

const FOLDS: Record<string, Fold> = {
  Identity: (_node, [x]) => x,
  Cast: (node, [x]) => (/INT|BOOL/.test(String(node.attr?.DstT?.type ?? '')) ? x.map(Math.trunc) : x),
  Reshape: (_node, [x]) => x,
  Squeeze: (_node, [x]) => x,
  ExpandDims: (_node, [x]) => x,
  Add: elementwiseFold((a, b) => a + b),
  AddV2: elementwiseFold((a, b) => a + b),
  Sub: elementwiseFold((a, b) => a - b),
  Mul: elementwiseFold((a, b) => a * b),
  RealDiv: elementwiseFold((a, b) => a / b),
  FloorDiv: elementwiseFold((a, b) => Math.floor(a / b)),
  FloorMod: elementwiseFold((a, b) => a - Math.floor(a / b) * b),
  Maximum: elementwiseFold(Math.max),
  Minimum: elementwiseFold(Math.min),
  Floor: (_node, [x]) => x.map(Math.floor),
  Neg: (_node, [x]) => x.map((v) => -v),
  Pack: (_node, parts) => (parts.every((p) => p.length === 1) ? parts.map((p) => p[0]) : undefined),
  ConcatV2: (_node, parts, shapes) => (shapes[0]?.length === 1 ? parts.slice(0, -1).flat() : undefined),
  Fill: (_node, [dims, [value]]) => Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => value),
  Prod: (_node, [x], shapes) => (shapes[0]?.length === 1 ? [x.reduce((a, b) => a * b, 1)] : undefined),
  Sum: (_node, [x], shapes) => (shapes[0]?.length === 1 ? [x.reduce((a, b) => a + b, 0)] : undefined),
  StridedSlice: (node, [x, begin, end, strides], shapes) => {
    if (shapes[0]?.length !== 1) return undefined;
    const [axis] = stridedSlice(node, shapes[0], begin, end, strides);
    if (axis.axis === undefined) return undefined;
    return sliceValues(x, axis);
  },
  Slice: (_node, [x, [begin], [size]], shapes) =>
    shapes[0]?.length === 1 ? x.slice(begin, size === -1 ? undefined : begin + size) : undefined,
  GatherV2: (_node, [params, indices, [axis]], shapes) =>
    shapes[0]?.every((d) => d !== null)
      ? gatherValues(params, shapes[0] as number[], axisOf(axis, shapes[0].length), indices)
      : undefined,
  Gather: (_node, [params, indices], shapes) =>
    shapes[0]?.every((d) => d !== null) ? gatherValues(params, shapes[0] as number[], 0, indices) : undefined,
};

/** Folded tensors stay small: shapes, sizes, axes and the like. */
const FOLDED_MAX = 64;

export interface GraphShapes {
  /** Each tensor's shape, by node name (its first output) or 'name:k'. */
  shapes: Map<string, Shape>;
  /** The values of the small integer tensors computed from constants and shapes alone. */
  folded: Map<string, number[]>;
}

/** A folded value is NaN where it stands for a dimension unknown until run (the batch): a free dimension. */
const dimOfValue = (v: number): number | null => (Number.isNaN(v) ? null : v);

/** Every tensor's output shape, nodes in dependency order (a graph model lists them so). */
export function inferGraphShapes(
  nodes: GraphNode[],
  constants: Map<string, { shape: number[]; values?: number[] }>,
  onProblem: (node: GraphNode, reason: string) => void = () => undefined,
): GraphShapes {
  const shapes = new Map<string, Shape>();
  // Values with NaN for what is unknown until run: `Shape` of a free batch is [NaN, 224, 224, 3],
  // whose height and width slice out as constants all the same.
  const partial = new Map<string, number[]>();
  const valuesOf = (name: string) => constants.get(name)?.values ?? partial.get(name);
  for (const node of nodes) {
    const constant = constants.get(node.name);
    // Constants, and the other inputs fed constants.
    if ((node.op === 'Const' || node.op === 'Placeholder') && constant) {
      shapes.set(node.name, constant.shape);
      continue;
    }
    if (node.op === 'Placeholder') {
      shapes.set(node.name, placeholderDims(node));
      continue;
    }
    const data = (node.input ?? []).filter((i) => !i.startsWith('^')).map(tensorOf);
    const inputs = data.map((t) => shapes.get(t));
    const values = data.map(valuesOf);
    let output: Output | undefined;
    try {
      output = RULES[node.op]?.(node, inputs, values);
    } catch (err) {
      output = undefined; // the shape stays unknown, and says why
      onProblem(node, messageOf(err));
    }
    if (!output) continue;
    const outputs = Array.isArray(output) ? [output] : output.outputs;
    outputs.forEach((shape, k) => shapes.set(k === 0 ? node.name : `${node.name}:${k}`, shape));
    const [first] = outputs;
    const fold = FOLDS[node.op];
    const fullyKnown = first?.every((d) => d !== null) && product(first)! <= FOLDED_MAX;
    if (!fullyKnown) continue;
    if (node.op === 'Shape' && inputs[0])
      partial.set(
        node.name,
        inputs[0].map((d) => d ?? NaN),
      );
    else if (fold && values.every((v) => v !== undefined)) {
      const result = fold(node, values as number[][], inputs, first);
      if (result && result.length === product(first)) partial.set(node.name, result);
    }
  }
  const folded = new Map([...partial].filter(([, v]) => v.every(Number.isFinite)));
  return { shapes, folded };
}

export type Layout = 'NHWC' | 'NCHW';

/**
 * The layout of each node's 4-d output: the image input's, then as each op says (a conv or
 * pool by its data_format, a Transpose by its permutation), else its first 4-d input's.
 */
export function graphLayouts(
  nodes: GraphNode[],
  input: { name: string; layout: Layout },
  shapes: Map<string, Shape>,
  folded: (name: string) => number[] | undefined,
): Map<string, Layout> {
  const layouts = new Map<string, Layout>([[input.name, input.layout]]);
  for (const node of nodes) {
    if (node.name === input.name || shapes.get(node.name)?.length !== 4) continue;
    const data = (node.input ?? []).filter((i) => !i.startsWith('^')).map(tensorOf);
    let layout: Layout | undefined;
    if (node.attr?.data_format) layout = isNchw(node) ? 'NCHW' : 'NHWC';
    else if (node.op === 'Transpose') {
      const perm = folded(data[1])?.join(',');
      const from = layouts.get(data[0]);
      if (perm === '0,2,3,1') layout = from === 'NCHW' ? 'NHWC' : undefined;
      else if (perm === '0,3,1,2') layout = from === 'NHWC' ? 'NCHW' : undefined;
      else if (perm === '0,1,2,3') layout = from;
    } else layout = data.map((t) => layouts.get(t)).find((l) => l !== undefined);
    if (layout) layouts.set(node.name, layout);
  }
  return layouts;
}
