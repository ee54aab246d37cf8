/**
 * Output shapes of ONNX nodes, inferred from the input's shape, the initializers' dims and the
 * nodes' attributes, for files exported without value_info and for inputs given another size
 * with --size. One rule per op type; an op not here leaves its outputs unknown ('?').
 */
import { shiftWindow, type LayerWindow, type Shape } from '../net/net.js';
import { messageOf } from '../errors.js';
import { sameOutputLength, samePadding, windowOutputLength } from '../net/geometry.js';
import {
  attribute,
  dimsOf,
  intAttribute,
  intsAttribute,
  intValues,
  type GraphProto,
  type NodeProto,
  type TensorProto,
} from './proto.js';

interface Known {
  shape(name: string): Shape | undefined;
  /** Integer values of a constant input (a Reshape's shape, Pad's pads), when known. */
  values(name: string): number[] | undefined;
}

type Rule = (node: NodeProto, inputs: Array<Shape | undefined>, known: Known) => Shape | undefined;

const product = (dims: Shape): number | null =>
  dims.some((d) => d === null) ? null : (dims as number[]).reduce((a, b) => a * b, 1);
const same: Rule = (_node, [x]) => x && [...x];

const WINDOWED = new Set(['Conv', 'MaxPool', 'AveragePool', 'LpPool']);

/**
 * How a 2-d Conv, pool or Pad node's output pixels see its input; undefined for other nodes.
 * `input` is the node's input shape, for SAME_LOWER (its odd pixel goes first); `kernel` the weight's (kh, kw).
 */
export function onnxWindow(
  node: NodeProto,
  input: Shape | undefined,
  kernel: number[] | undefined,
  padValues: number[] | undefined,
  channelsLast: boolean,
): LayerWindow | undefined {
  if (WINDOWED.has(node.opType)) {
    const k = intsAttribute(node, 'kernel_shape') ?? kernel;
    if (k?.length !== 2) return undefined;
    const strides = (intsAttribute(node, 'strides') ?? [1, 1]) as [number, number];
    const dilations = (intsAttribute(node, 'dilations') ?? [1, 1]) as [number, number];
    const autoPad = String(attribute(node, 'auto_pad') ?? 'NOTSET');
    const window = { kernel: k as [number, number], strides, dilations };
    if (autoPad === 'SAME_UPPER') return { ...window, padding: 'same' };
    if (autoPad === 'VALID') return { ...window, padding: 'valid' };
    if (autoPad === 'SAME_LOWER') {
      const [h, w] = [input?.[2], input?.[3]];
      if (typeof h !== 'number' || typeof w !== 'number') return undefined;
      const [bottom, top] = samePadding(h, k[0], strides[0], dilations[0]);
      const [right, left] = samePadding(w, k[1], strides[1], dilations[1]);
      return { ...window, padding: [top, left, bottom, right] };
    }
    const pads = intsAttribute(node, 'pads') ?? [0, 0, 0, 0];
    return { ...window, padding: pads as [number, number, number, number] };
  }
  if (node.opType === 'Pad') {
    const pads = intsAttribute(node, 'pads') ?? padValues;
    if (pads?.length !== 8) return undefined;
    // Per axis, begins then ends; the spatial axes are 2, 3 (NCHW) or 1, 2 (NHWC).
    const [y, x] = channelsLast ? [1, 2] : [2, 3];
    return shiftWindow([pads[y], pads[x], pads[y + 4], pads[x + 4]]);
  }
  return undefined;
}

/** Conv and pooling: N, C (or the kernel's M), then each spatial axis by the window formula. */
function windowed(node: NodeProto, x: Shape, kernel: number[], channels: number | null): Shape {
  const spatial = x.slice(2);
  const strides = intsAttribute(node, 'strides') ?? spatial.map(() => 1);
  const dilations = intsAttribute(node, 'dilations') ?? spatial.map(() => 1);
  const pads = intsAttribute(node, 'pads') ?? spatial.flatMap(() => [0, 0]);
  const autoPad = String(attribute(node, 'auto_pad') ?? 'NOTSET');
  const ceil = intAttribute(node, 'ceil_mode', 0) === 1;
  return [
    x[0],
    channels,
    ...spatial.map((length, i) => {
      if (length === null) return null;
      if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') return sameOutputLength(length, strides[i]);
      const total = autoPad === 'VALID' ? 0 : pads[i] + pads[i + spatial.length];
      return windowOutputLength(length, kernel[i], strides[i], total, dilations[i], ceil);
    }),
  ];
}

const conv: Rule = (node, [x, w]) => {
  if (!x || !w) return undefined;
  const kernel = intsAttribute(node, 'kernel_shape') ?? (w.slice(2) as number[]);
  return windowed(node, x, kernel, w[0]);
};

/** ConvTranspose: stride * (in - 1) + output padding + span - pads, or its output_shape; out channels w[1] * group. */
const convTranspose: Rule = (node, [x, w]) => {
  if (!x || !w || w[1] === null) return undefined;
  const spatial = x.slice(2);
  const channels = w[1] * intAttribute(node, 'group', 1);
  const given = intsAttribute(node, 'output_shape');
  if (given) return [x[0], channels, ...given.slice(-spatial.length)];
  if (String(attribute(node, 'auto_pad') ?? 'NOTSET') !== 'NOTSET' && String(attribute(node, 'auto_pad')) !== 'VALID')
    return [
      x[0],
      channels,
      ...spatial.map((d, i) => (d === null ? null : d * (intsAttribute(node, 'strides')?.[i] ?? 1))),
    ];
  const kernel = intsAttribute(node, 'kernel_shape') ?? (w.slice(2) as number[]);
  const at = (name: string, i: number, fallback: number) => intsAttribute(node, name)?.[i] ?? fallback;
  const pads = intsAttribute(node, 'pads') ?? Array<number>(2 * spatial.length).fill(0);
  return [
    x[0],
    channels,
    ...spatial.map((d, i) =>
      d === null
        ? null
        : at('strides', i, 1) * (d - 1) +
          at('output_padding', i, 0) +
          (kernel[i] - 1) * at('dilations', i, 1) +
          1 -
          pads[i] -
          pads[i + spatial.length],
    ),
  ];
};

const pool: Rule = (node, [x]) => x && windowed(node, x, intsAttribute(node, 'kernel_shape') ?? [], x[1]);

const globalPool: Rule = (_node, [x]) => x && [x[0], x[1], ...x.slice(2).map(() => 1)];

/** numpy broadcasting: align from the right; a 1 stretches. */
const broadcast: Rule = (_node, inputs) => {
  if (inputs.some((s) => !s)) return undefined;
  const rank = Math.max(...inputs.map((s) => s!.length));
  return Array.from({ length: rank }, (_, i): number | null => {
    // Missing leading axes count as 1; null (a free size) is kept.
    const dims = inputs.map((s) => (s!.length - rank + i >= 0 ? s![s!.length - rank + i] : 1));
    const big = dims.filter((d) => d !== 1);
    if (big.length === 0) return 1;
    return big.find((d) => d !== null) ?? null;
  });
};

const axisOf = (axis: number, rank: number): number => (axis < 0 ? rank + axis : axis);

const concat: Rule = (node, inputs) => {
  if (inputs.some((s) => !s)) return undefined;
  const axis = axisOf(intAttribute(node, 'axis', 0), inputs[0]!.length);
  const out = [...inputs[0]!];
  const sizes = inputs.map((s) => s![axis]);
  out[axis] = sizes.includes(null) ? null : (sizes as number[]).reduce((a, b) => a + b, 0);
  return out;
};

const flatten: Rule = (node, [x]) => {
  if (!x) return undefined;
  const axis = axisOf(intAttribute(node, 'axis', 1), x.length);
  return [product(x.slice(0, axis)), product(x.slice(axis))];
};

const gemm: Rule = (node, [a, b]) => {
  if (!a || !b) return undefined;
  const m = intAttribute(node, 'transA', 0) ? a[1] : a[0];
  const n = intAttribute(node, 'transB', 0) ? b[0] : b[1];
  return [m, n];
};

const matmul: Rule = (_node, [a, b]) => a && b && [...a.slice(0, -1), b[b.length - 1]];

const reshape: Rule = (node, [x], known) => {
  const target = known.values(node.input[1]);
  if (!x || !target) return undefined;
  const out: Shape = target.map((d, i) => (d === 0 ? x[i] : d === -1 ? -1 : d));
  const total = product(x);
  const rest = out.filter((d) => d !== -1);
  const restProduct = product(rest);
  return out.map((d) => (d === -1 ? (total === null || restProduct === null ? null : total / restProduct) : d));
};

const transpose: Rule = (node, [x]) =>
  x && (intsAttribute(node, 'perm') ?? x.map((_, i) => x.length - 1 - i)).map((p) => x[p]);

const pad: Rule = (node, [x], known) => {
  const pads = intsAttribute(node, 'pads') ?? known.values(node.input[1]);
  if (!x || !pads) return undefined;
  return x.map((d, i) => (d === null ? null : d + pads[i] + pads[i + x.length]));
};

const axesOf = (node: NodeProto, known: Known): number[] | undefined =>
  intsAttribute(node, 'axes') ?? (node.input[1] ? known.values(node.input[1]) : undefined);

const squeeze: Rule = (node, [x], known) => {
  if (!x) return undefined;
  const axes = axesOf(node, known)?.map((a) => axisOf(a, x.length));
  return x.filter((d, i) => (axes ? !axes.includes(i) : d !== 1));
};

const unsqueeze: Rule = (node, [x], known) => {
  const axes = axesOf(node, known);
  if (!x || !axes) return undefined;
  const rank = x.length + axes.length;
  const at = new Set(axes.map((a) => axisOf(a, rank)));
  const rest = [...x];
  return Array.from({ length: rank }, (_, i) => (at.has(i) ? 1 : rest.shift()!));
};

const resize: Rule = (node, [x], known) => {
  if (!x) return undefined;
  // Resize(X, roi, scales, sizes) from opset 11; Upsample(X, scales) or a scales attribute before.
  const sizes = node.input[3] ? known.values(node.input[3]) : undefined;
  if (sizes && sizes.length === x.length) return sizes;
  const scales =
    (node.opType === 'Resize' ? known.values(node.input[2]) : known.values(node.input[1])) ??
    (attribute(node, 'scales') as number[] | undefined);
  if (!scales || scales.length !== x.length) return undefined;
  return x.map((d, i) => (d === null ? null : Math.floor(d * scales[i])));
};

const reduce: Rule = (node, [x], known) => {
  if (!x) return undefined;
  const axes = (axesOf(node, known) ?? x.map((_, i) => i)).map((a) => axisOf(a, x.length));
  const keep = intAttribute(node, 'keepdims', 1) === 1;
  return keep ? x.map((d, i) => (axes.includes(i) ? 1 : d)) : x.filter((_, i) => !axes.includes(i));
};

const UNARY = [
  'BatchNormalization',
  'InstanceNormalization',
  'LRN',
  'Relu',
  'LeakyRelu',
  'PRelu',
  'Clip',
  'Sigmoid',
  'HardSigmoid',
  'HardSwish',
  'Tanh',
  'Elu',
  'Selu',
  'Celu',
  'Gelu',
  'Softplus',
  'Softsign',
  'Mish',
  'Identity',
  'Dropout',
  'Erf',
  'Exp',
  'Log',
  'Sqrt',
  'Neg',
  'Abs',
  'Reciprocal',
  'Softmax',
  'LogSoftmax',
  'Cast',
  'Floor',
  'Ceil',
  'QuantizeLinear',
  'DequantizeLinear',
  'DynamicQuantizeLinear',
  'Round',
  'Sign',
];
/** ONNX's largest int64 (a slice to the end), as the JavaScript number it reads as. */
const INT64_END = 2 ** 62;

/** One axis of a slice, resolved as Python resolves it: the first index, the bound (excluded), the step. */
export interface SliceRange {
  start: number;
  stop: number;
  step: number;
}

/**
 * A slice's begin or end on an axis of `length` (Infinity: unknown until run): counted from
 * the end when negative, then clamped as Python clamps (-1 is "before the first" going back).
 */
export function clampSliceIndex(v: number, length: number, forward: boolean): number {
  const at = v < 0 ? v + length : v;
  return forward ? Math.min(Math.max(at, 0), length) : Math.min(Math.max(at, -1), length - 1);
}

/** How many indices a slice takes; null when that depends on a length unknown until run. */
export function sliceLength({ start, stop, step }: SliceRange): number | null {
  if (!Number.isFinite(start) || !Number.isFinite(stop)) return null;
  return Math.max(0, step > 0 ? Math.ceil((stop - start) / step) : Math.ceil((start - stop) / -step));
}

/** The values a slice takes from a vector (folded shape arithmetic). */
export const sliceValues = (values: number[], range: SliceRange): number[] =>
  Array.from({ length: sliceLength(range) ?? 0 }, (_, i) => values[range.start + i * range.step]);

/** One Slice of a 1-d or n-d tensor's axes resolved: start, stop and step per axis sliced. */
function sliceAxes(node: NodeProto, x: Shape, known: Known): Array<SliceRange & { axis: number }> | undefined {
  const [starts, ends] = [known.values(node.input[1]), known.values(node.input[2])];
  if (!starts || !ends) return undefined;
  const axes = (node.input[3] ? known.values(node.input[3]) : undefined) ?? starts.map((_, i) => i);
  const steps = (node.input[4] ? known.values(node.input[4]) : undefined) ?? starts.map(() => 1);
  return axes.map((a, i) => {
    const axis = axisOf(a, x.length);
    const length = x[axis] ?? Infinity;
    const step = steps[i];
    return {
      axis,
      start: clampSliceIndex(starts[i], length, step > 0),
      stop: clampSliceIndex(ends[i] >= INT64_END ? length : ends[i], length, step > 0),
      step,
    };
  });
}

const slice: Rule = (node, [x], known) => {
  const axes = x && sliceAxes(node, x, known);
  if (!x || !axes) return undefined;
  const out = [...x];
  for (const range of axes) out[range.axis] = sliceLength(range);
  return out;
};

const gather: Rule = (node, [data, indices]) => {
  if (!data || !indices) return undefined;
  const axis = axisOf(intAttribute(node, 'axis', 0), data.length);
  return [...data.slice(0, axis), ...indices, ...data.slice(axis + 1)];
};

const shapeOf: Rule = (_node, [x]) => x && [x.length];

const constantOfShape: Rule = (node, _inputs, known) => known.values(node.input[0]);

const expand: Rule = (node, [x], known) => {
  const target = known.values(node.input[1]);
  return x && target && broadcast(node, [x, target], known);
};

/**
 * Values of small integer tensors computed from shapes and constants (PyTorch exports every
 * F.interpolate(size=t.shape[2:]) as Shape -> Slice -> Concat -> Resize): NaN where a size is
 * unknown until run.
 */
type Fold = (
  node: NodeProto,
  values: number[][],
  shapes: Array<Shape | undefined>,
  known: Known,
) => number[] | undefined;

/** f over two small value vectors, one of them maybe a scalar (broadcast); undefined for other shapes. */
export function elementwiseValues(a: number[], b: number[], f: (a: number, b: number) => number): number[] | undefined {
  if (a.length === b.length) return a.map((v, i) => f(v, b[i]));
  if (a.length === 1) return b.map((v) => f(a[0], v));
  if (b.length === 1) return a.map((v) => f(v, b[0]));
  return undefined;
}

const arithmetic =
  (f: (a: number, b: number) => number): Fold =>
  (_node, [a, b]) =>
    elementwiseValues(a, b, f);

const FOLDS: Record<string, Fold> = {
  Identity: (_node, [x]) => x,
  Cast: (_node, [x]) => x,
  Squeeze: (_node, [x]) => x,
  Unsqueeze: (_node, [x]) => x,
  Reshape: (_node, [x]) => x,
  Concat: (_node, parts, shapes) => (shapes[0]?.length === 1 ? parts.flat() : undefined),
  Add: arithmetic((a, b) => a + b),
  Sub: arithmetic((a, b) => a - b),
  Mul: arithmetic((a, b) => a * b),
  Div: arithmetic((a, b) => a / b),
  Floor: (_node, [x]) => x.map(Math.floor),
  Ceil: (_node, [x]) => x.map(Math.ceil),
  Gather: (node, [data, indices], shapes) =>
    shapes[0]?.length === 1 && intAttribute(node, 'axis', 0) === 0
      ? indices.map((i) => data[i < 0 ? i + data.length : i])
      : undefined,
  Slice: (node, [data], shapes, known) => {
    const axes = shapes[0]?.length === 1 ? sliceAxes(node, [data.length], known) : undefined;
    if (!axes) return undefined;
    return sliceValues(data, axes[0]);
  },
};

/** Folded values stay small: shapes, sizes, axes. */
const FOLDED_MAX = 64;

const BROADCAST = ['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min', 'Sum', 'Mean', 'Where', 'Equal', 'Greater', 'Less'];

const RULES: Record<string, Rule> = {
  ...Object.fromEntries(UNARY.map((op) => [op, same])),
  ...Object.fromEntries(BROADCAST.map((op) => [op, broadcast])),
  Conv: conv,
  ConvInteger: conv,
  // QLinear ops keep scales and zero points between their tensors: x at 0, the weights at 3.
  QLinearConv: (node, inputs, known) => conv(node, [inputs[0], inputs[3]], known),
  MatMulInteger: matmul,
  QLinearMatMul: (node, inputs, known) => matmul(node, [inputs[0], inputs[3]], known),
  ConvTranspose: convTranspose,
  MaxPool: pool,
  AveragePool: pool,
  LpPool: pool,
  GlobalAveragePool: globalPool,
  GlobalMaxPool: globalPool,
  Concat: concat,
  Flatten: flatten,
  Gemm: gemm,
  MatMul: matmul,
  Reshape: reshape,
  Transpose: transpose,
  Pad: pad,
  Squeeze: squeeze,
  Unsqueeze: unsqueeze,
  Resize: resize,
  Upsample: resize,
  Slice: slice,
  Gather: gather,
  Shape: shapeOf,
  ConstantOfShape: constantOfShape,
  Expand: expand,
  ReduceMean: reduce,
  ReduceMax: reduce,
  ReduceSum: reduce,
};

/**
 * Every tensor's shape, nodes in file order (ONNX requires topological order): the input's
 * shape as given, initializers and Constant nodes by their dims, the rest by the rules. A rule
 * that fails tells `onProblem` which node and why.
 */
export function inferTensorShapes(
  graph: GraphProto,
  input: { name: string; shape: Shape },
  onProblem: (node: NodeProto, reason: string) => void = () => undefined,
): Map<string, Shape> {
  const shapes = new Map<string, Shape>([[input.name, input.shape]]);
  const constants = new Map<string, TensorProto>(graph.initializer.map((t) => [t.name, t]));
  for (const t of graph.initializer) shapes.set(t.name, dimsOf(t));
  // Values computed from shapes and constants, NaN where a size is unknown until run.
  const folded = new Map<string, number[]>();
  const partialValues = (name: string): number[] | undefined => {
    const t = constants.get(name);
    return t ? intValues(t) : folded.get(name);
  };
  const known: Known = {
    shape: (name) => shapes.get(name),
    values: (name) => {
      const v = partialValues(name);
      return v?.every(Number.isFinite) ? v : undefined;
    },
  };
  for (const node of graph.node) {
    if (node.opType === 'Constant') {
      const value = attribute(node, 'value');
      if (value && typeof value === 'object' && !Array.isArray(value)) {
        constants.set(node.output[0], value);
        shapes.set(node.output[0], dimsOf(value));
      }
      continue;
    }
    const rule = RULES[node.opType];
    const inputs = node.input.map((name) => (name ? shapes.get(name) : undefined));
    let output: Shape | undefined;
    try {
      output = rule?.(node, inputs, known);
    } catch (err) {
      output = undefined; // an attribute of an unexpected form: the shape stays unknown, and says why
      onProblem(node, messageOf(err));
    }
    // Sizes below 1 are kept: an input too small for the network shows where it runs out.
    if (output && output.every((d) => d === null || Number.isFinite(d))) shapes.set(node.output[0], output);
    const size = output?.reduce<number>((a, d) => a * (d ?? Infinity), 1) ?? Infinity;
    if (size <= FOLDED_MAX) {
      const values = node.input.map((name) => (name ? partialValues(name) : undefined));
      const result =
        node.opType === 'Shape'
          ? inputs[0]?.map((d) => d ?? NaN)
          : FOLDS[node.opType] && values.every((v) => v !== undefined)
            ? FOLDS[node.opType](node, values as number[][], inputs, known)
            : undefined;
      if (result && result.length === size) folded.set(node.output[0], result);
    }
    // DynamicQuantizeLinear's scale and zero point are scalars.
    if (node.opType === 'DynamicQuantizeLinear') node.output.slice(1).forEach((o) => o && shapes.set(o, []));
  }
  return shapes;
}
