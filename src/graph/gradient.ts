/**
 * Gradients as ONNX graphs. ONNX Runtime in Node has no autodiff, so from a forward graph this
 * builds a second graph computing the vector-Jacobian product: given a cotangent (the "seed")
 * for one target tensor, the gradient of sum(target * seed) with respect to chosen tensors (the
 * input, a layer's activation). A class logit is a one-hot seed; a channel's mean is a seed of
 * 1 / (H * W) on that channel. One rule per op, each checked against central finite differences;
 * an op without a rule is named, never given a silent zero gradient.
 */
import onnxProto from 'onnx-proto';
import type { Shape } from '../net/net.js';
import type { GraphProto, ModelProto, NodeProto, TensorProto } from './proto.js';
import { attribute, dimsOf, floatValues, intAttribute, intsAttribute, intValues } from './proto.js';
import { inferTensorShapes } from './shapes.js';
import { NEAREST_MODES, RESIZE_COORDINATES, resizeMatrix } from './resampling.js';
import { float, GraphBuilder, int, ints, string, valueInfo } from './build.js';

const { onnx } = onnxProto;

/** An op the gradient builder has no rule for: named in the one line that refuses the model. */
export class NoGradientRuleError extends Error {}

/** The seed input's name: the cotangent of the target, of the target's shape. */
export const seedName = (target: string): string => `${target}:seed`;
/** The output that holds the gradient with respect to a tensor. */
export const gradientName = (tensor: string): string => `${tensor}:grad`;

/** What a rule sees of its node: its inputs, outputs and their shapes, and the builder. */
interface RuleContext {
  b: GraphBuilder;
  node: NodeProto;
  /** The cotangent of the node's first output (zeros where only another output has one). */
  dy: string;
  /** The cotangent of each output; undefined where none flows back. */
  dys: Array<string | undefined>;
  shape(tensor: string): Shape | undefined;
  constant(tensor: string): TensorProto | undefined;
  /** True for the inputs a gradient is needed for. */
  needs(index: number): boolean;
  /** How a stride-1 Conv's input gradient is computed (GradientRequest.convGradient). */
  convGradient: 'conv' | 'transpose';
}

/** Cotangents of the node's inputs, by input index; absent where none is needed. */
type Rule = (ctx: RuleContext) => Array<string | undefined>;

const zeroLike = (b: GraphBuilder) => b.constant('zero', [], Float32Array.of(0));
const oneLike = (b: GraphBuilder) => b.constant('one', [], Float32Array.of(1));
const cast = (b: GraphBuilder, x: string) => b.node('Cast', [x], [int('to', onnx.TensorProto.DataType.FLOAT)]);
/** dy where `mask` holds, 0 elsewhere. */
const masked = (b: GraphBuilder, dy: string, mask: string) => b.node('Mul', [dy, cast(b, mask)]);

/** Sums a broadcast cotangent back to the shape of the input it came from. */
function unbroadcast(b: GraphBuilder, dy: string, from: Shape | undefined, to: Shape | undefined): string {
  if (!from || !to) throw new NoGradientRuleError('a broadcast between tensors of unknown shape');
  if (from.length === to.length && from.every((d, i) => d === to[i])) return dy;
  const lead = from.length - to.length;
  const axes = from.map((_, i) => i).filter((i) => i < lead || (to[i - lead] === 1 && from[i] !== 1));
  const summed = axes.length ? b.node('ReduceSum', [dy, b.int64s('axes', axes)], [int('keepdims', 1)]) : dy;
  return lead > 0 || axes.length
    ? b.node('Reshape', [
        summed,
        b.int64s(
          'shape',
          to.map((d) => d ?? -1),
        ),
      ])
    : summed;
}

/** Reshape the cotangent back to the input's shape, taken at run time (Flatten, Reshape, Squeeze). */
const reshapeBack = (ctx: RuleContext): string[] => [
  ctx.b.node('Reshape', [ctx.dy, ctx.b.node('Shape', [ctx.node.input[0]])]),
];

const elementwise =
  (op: 'Add' | 'Sub' | 'Mul' | 'Div'): Rule =>
  (ctx) => {
    const { b, node, dy } = ctx;
    const [a, c] = node.input;
    const [sa, sc, sy] = [ctx.shape(a), ctx.shape(c), ctx.shape(node.output[0])];
    const da = !ctx.needs(0)
      ? undefined
      : op === 'Mul'
        ? b.node('Mul', [dy, c])
        : op === 'Div'
          ? b.node('Div', [dy, c])
          : dy;
    let dc: string | undefined;
    if (ctx.needs(1)) {
      if (op === 'Add') dc = dy;
      else if (op === 'Sub') dc = b.node('Neg', [dy]);
      else if (op === 'Mul') dc = b.node('Mul', [dy, a]);
      // d(a / c)/dc = -a / c^2
      else dc = b.node('Neg', [b.node('Div', [b.node('Mul', [dy, a]), b.node('Mul', [c, c])])]);
    }
    return [da && unbroadcast(b, da, sy, sa), dc && unbroadcast(b, dc, sy, sc)];
  };

/** Conv's input gradient: the transposed convolution with the same kernel, sized back to the input. */
const conv: Rule = (ctx) => {
  const { b, node, dy } = ctx;
  if (ctx.needs(1) || ctx.needs(2)) throw new NoGradientRuleError(`'${node.name}' (Conv) with a computed kernel`);
  const x = ctx.shape(node.input[0]);
  const w = ctx.constant(node.input[1]);
  if (!x || x.slice(2).some((d) => d === null) || !w)
    throw new NoGradientRuleError(`'${node.name}' (Conv) on an input of unknown size`);
  const kernel = dimsOf(w).slice(2);
  const strides = intsAttribute(node, 'strides') ?? [1, 1];
  const dilations = intsAttribute(node, 'dilations') ?? [1, 1];
  const group = intAttribute(node, 'group', 1);
  const y = ctx.shape(node.output[0])!;
  const pads = explicitPads(node, x.slice(2) as number[], kernel, strides, dilations);
  // The transposed convolution's output is stride * (in - 1) + span - pads; the pixels a stride skipped come back as output_padding.
  const outputPadding = [0, 1].map((i) => {
    const span = (kernel[i] - 1) * dilations[i] + 1;
    return (x[2 + i] as number) - (strides[i] * ((y[2 + i] as number) - 1) + span - pads[i] - pads[i + 2]);
  });
  const spans = kernel.map((k, i) => (k - 1) * dilations[i] + 1);
  // Stride 1: the transposed convolution is a convolution with the kernel flipped and its channels
  // swapped, which ONNX Runtime runs on its fastest (NCHWc) path.
  const flippedPads = [0, 1, 0, 1].map((axis, i) => spans[axis] - 1 - pads[i]);
  if (ctx.convGradient === 'conv' && strides.every((s) => s === 1) && flippedPads.every((p) => p >= 0)) {
    const flipped = b.constant(
      'flipped',
      flippedDims(dimsOf(w), group),
      flippedKernel(floatValues(w), dimsOf(w), group),
    );
    const attrs = [ints('dilations', dilations), ints('pads', flippedPads), int('group', group)];
    return [b.node('Conv', [dy, flipped], attrs)];
  }
  const attrs = [ints('strides', strides), ints('dilations', dilations), ints('pads', pads), int('group', group)];
  if (outputPadding.some((p) => p !== 0)) attrs.push(ints('output_padding', outputPadding));
  return [b.node('ConvTranspose', [dy, node.input[1]], attrs)];
};

/** A Conv kernel (out, in / group, kh, kw) flipped for its input gradient: (in, out / group, kh, kw). */
function flippedDims([out, inPerGroup, kh, kw]: number[], group: number): number[] {
  return [inPerGroup * group, out / group, kh, kw];
}

/** Each group's kernel with in and out swapped and both spatial axes reversed. */
export function flippedKernel(w: Float32Array, [out, inPerGroup, kh, kw]: number[], group: number): Float32Array {
  const outPerGroup = out / group;
  const flipped = new Float32Array(w.length);
  for (let g = 0; g < group; g++)
    for (let o = 0; o < outPerGroup; o++)
      for (let i = 0; i < inPerGroup; i++)
        for (let y = 0; y < kh; y++)
          for (let x = 0; x < kw; x++) {
            const from = (((g * outPerGroup + o) * inPerGroup + i) * kh + y) * kw + x;
            const to = (((g * inPerGroup + i) * outPerGroup + o) * kh + (kh - 1 - y)) * kw + (kw - 1 - x);
            flipped[to] = w[from];
          }
  return flipped;
}

/**
 * ConvTranspose's input gradient: the convolution with the same kernel, strides, dilations, pads
 * and groups (ConvTranspose is Conv's adjoint; output padding only adds rows Conv never reads).
 */
const convTranspose: Rule = (ctx) => {
  const { b, node, dy } = ctx;
  if (ctx.needs(1) || ctx.needs(2))
    throw new NoGradientRuleError(`'${node.name}' (ConvTranspose) with a computed kernel`);
  const autoPad = String(attribute(node, 'auto_pad') ?? 'NOTSET');
  if ((autoPad !== 'NOTSET' && autoPad !== 'VALID') || attribute(node, 'output_shape') !== undefined)
    throw new NoGradientRuleError(`'${node.name}' (ConvTranspose) sized by auto_pad or output_shape`);
  const rank = (ctx.shape(node.input[0])?.length ?? 4) - 2;
  const ones = Array<number>(rank).fill(1);
  const attrs = [
    ints('strides', intsAttribute(node, 'strides') ?? ones),
    ints('dilations', intsAttribute(node, 'dilations') ?? ones),
    ints(
      'pads',
      autoPad === 'VALID'
        ? Array<number>(2 * rank).fill(0)
        : (intsAttribute(node, 'pads') ?? Array<number>(2 * rank).fill(0)),
    ),
    int('group', intAttribute(node, 'group', 1)),
  ];
  return [b.node('Conv', [dy, node.input[1]], attrs)];
};

/**
 * Resize (nearest or linear) is linear in its input and separable by axis: along each resized
 * axis the cotangent is multiplied by the transposed resampling matrix.
 */
const resize: Rule = (ctx) => {
  const { b, node } = ctx;
  const [x, y] = [ctx.shape(node.input[0]), ctx.shape(node.output[0])];
  const refuse = (why: string) => new NoGradientRuleError(`'${node.name}' (Resize) ${why}`);
  if (!x || !y || x.some((d) => d === null) || y.some((d) => d === null)) throw refuse('of unknown size');
  const mode = String(attribute(node, 'mode') ?? 'nearest');
  const coordinates = String(attribute(node, 'coordinate_transformation_mode') ?? 'half_pixel');
  const nearest = String(attribute(node, 'nearest_mode') ?? 'round_prefer_floor');
  if (mode !== 'nearest' && mode !== 'linear') throw refuse(`in ${mode} mode`);
  if (!RESIZE_COORDINATES.includes(coordinates)) throw refuse(`with ${coordinates} coordinates`);
  if (!NEAREST_MODES.includes(nearest)) throw refuse(`rounding ${nearest}`);
  if (intAttribute(node, 'antialias', 0)) throw refuse('antialiased');
  const scalesTensor = node.input[2] ? ctx.constant(node.input[2]) : undefined;
  const scales = scalesTensor && dimsOf(scalesTensor)[0] ? Array.from(floatValues(scalesTensor)) : undefined;
  let dx = ctx.dy;
  const rank = x.length;
  for (let axis = 0; axis < rank; axis++) {
    const [from, to] = [x[axis] as number, y[axis] as number];
    if (from === to && (!scales || scales[axis] === 1)) continue;
    const matrix = resizeMatrix({ from, to, scale: scales?.[axis] ?? to / from, mode, coordinates, nearest });
    const r = b.constant('resample', [to, from], matrix);
    // MatMul works on the last axis: bring the resized axis there and back.
    const swap = Array.from({ length: rank }, (_, i) => (i === axis ? rank - 1 : i === rank - 1 ? axis : i));
    const last = axis === rank - 1;
    const moved = last ? dx : b.node('Transpose', [dx], [ints('perm', swap)]);
    const product = b.node('MatMul', [moved, r]);
    dx = last ? product : b.node('Transpose', [product], [ints('perm', swap)]);
  }
  return [dx];
};

/** A Conv or pool's pads as [top, left, bottom, right], auto_pad worked out on a known input. */
function explicitPads(
  node: NodeProto,
  spatial: number[],
  kernel: number[],
  strides: number[],
  dilations: number[],
): number[] {
  const autoPad = String(attribute(node, 'auto_pad') ?? 'NOTSET');
  if (autoPad === 'VALID') return [0, 0, 0, 0];
  if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    const total = spatial.map((n, i) =>
      Math.max(0, (Math.ceil(n / strides[i]) - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 - n),
    );
    const small = total.map((t) => Math.floor(t / 2));
    const large = total.map((t, i) => t - small[i]);
    return autoPad === 'SAME_UPPER' ? [...small, ...large] : [...large, ...small];
  }
  return intsAttribute(node, 'pads') ?? [0, 0, 0, 0];
}

/**
 * MaxPool through its indices: the forward node is asked for them (ONNX Runtime gives the flat
 * position of each window's maximum), and the cotangent is scattered back, overlaps added.
 */
const maxPool: Rule = (ctx) => {
  const { b, node, dy } = ctx;
  if (node.output.length < 2 || !node.output[1]) node.output = [node.output[0], `${node.output[0]}:indices`];
  const flatShape = b.int64s('flat', [-1]);
  const size = b.node('Size', [node.input[0]]);
  const zeros = b.node(
    'ConstantOfShape',
    [b.node('Reshape', [size, b.int64s('one', [1])])],
    [
      {
        name: 'value',
        type: onnx.AttributeProto.AttributeType.TENSOR,
        t: onnx.TensorProto.create({ dims: [1], dataType: onnx.TensorProto.DataType.FLOAT, floatData: [0] }),
      },
    ],
  );
  const scattered = b.node(
    'ScatterElements',
    [zeros, b.node('Reshape', [node.output[1], flatShape]), b.node('Reshape', [dy, flatShape])],
    [int('axis', 0), string('reduction', 'add')],
  );
  return [b.node('Reshape', [scattered, b.node('Shape', [node.input[0]])])];
};

const globalAveragePool: Rule = (ctx) => {
  const { b, node, dy } = ctx;
  const x = node.input[0];
  const area = b.node(
    'Cast',
    [
      b.node(
        'ReduceProd',
        [b.node('Slice', [b.node('Shape', [x]), b.int64s('s', [2]), b.int64s('e', [2 ** 30])])],
        [int('keepdims', 0)],
      ),
    ],
    [int('to', onnx.TensorProto.DataType.FLOAT)],
  );
  return [b.node('Expand', [b.node('Div', [dy, area]), b.node('Shape', [x])])];
};

/** Gemm with a constant B: dA = alpha * dY · B^T (B as stored, transposed as the node says). */
const gemm: Rule = (ctx) => {
  const { b, node, dy } = ctx;
  if (ctx.needs(1) || ctx.needs(2)) throw new NoGradientRuleError(`'${node.name}' (Gemm) with computed weights`);
  if (intAttribute(node, 'transA', 0)) throw new NoGradientRuleError(`'${node.name}' (Gemm) with transA`);
  const alpha = Number(attribute(node, 'alpha') ?? 1);
  const transB = intAttribute(node, 'transB', 0);
  return [b.node('Gemm', [dy, node.input[1]], [int('transB', transB ? 0 : 1), float('alpha', alpha)])];
};

/** MatMul with a constant right side (a Dense layer): dX = dY · W^T over the last two axes. */
const matmul: Rule = (ctx) => {
  const { b, node, dy } = ctx;
  if (ctx.needs(1)) throw new NoGradientRuleError(`'${node.name}' (MatMul) with computed weights`);
  const w = ctx.shape(node.input[1]);
  if (!w || w.length !== 2)
    throw new NoGradientRuleError(`'${node.name}' (MatMul) with weights of rank ${w?.length ?? '?'}`);
  return [b.node('MatMul', [dy, b.node('Transpose', [node.input[1]], [ints('perm', [1, 0])])])];
};

const transpose: Rule = (ctx) => {
  const perm = intsAttribute(ctx.node, 'perm');
  const rank = ctx.shape(ctx.node.input[0])?.length;
  const order = perm ?? (rank ? Array.from({ length: rank }, (_, i) => rank - 1 - i) : undefined);
  if (!order) throw new NoGradientRuleError(`'${ctx.node.name}' (Transpose) of unknown rank`);
  const inverse = order.map((_, i) => order.indexOf(i));
  return [ctx.b.node('Transpose', [ctx.dy], [ints('perm', inverse)])];
};

/** Concat: each input's slice of the cotangent along the axis. */
const concat: Rule = (ctx) => {
  const { b, node, dy } = ctx;
  const rank = ctx.shape(node.output[0])?.length ?? 0;
  const given = intAttribute(node, 'axis', 0);
  const axis = given < 0 ? given + rank : given;
  let start = 0;
  return node.input.map((input, i) => {
    const size = ctx.shape(input)?.[axis];
    if (typeof size !== 'number') throw new NoGradientRuleError(`'${node.name}' (Concat) of inputs of unknown size`);
    const [from, to] = [start, start + size];
    start = to;
    return ctx.needs(i)
      ? b.node('Slice', [dy, b.int64s('starts', [from]), b.int64s('ends', [to]), b.int64s('axes', [axis])])
      : undefined;
  });
};

/** Constant padding: the cotangent cut back to the input's extent. */
const pad: Rule = (ctx) => {
  const { b, node, dy } = ctx;
  const mode = String(attribute(node, 'mode') ?? 'constant');
  if (mode !== 'constant') throw new NoGradientRuleError(`'${node.name}' (Pad, mode ${mode})`);
  const padsTensor = node.input[1] ? ctx.constant(node.input[1]) : undefined;
  const pads = padsTensor ? intValues(padsTensor) : intsAttribute(node, 'pads');
  const x = ctx.shape(node.input[0]);
  if (!pads || !x) throw new NoGradientRuleError(`'${node.name}' (Pad) with computed pads`);
  const rank = x.length;
  const starts = pads.slice(0, rank);
  const ends = pads.slice(rank).map((p) => (p > 0 ? -p : 2 ** 62));
  return [
    b.node('Slice', [
      dy,
      b.int64s('starts', starts),
      b.int64s('ends', ends),
      b.int64s(
        'axes',
        x.map((_, i) => i),
      ),
    ]),
  ];
};

/** Inference BatchNormalization: a per-channel scale, scale / sqrt(var + eps). */
const batchNorm: Rule = (ctx) => {
  const { b, node, dy } = ctx;
  const [scale, , , variance] = node.input.slice(1).map((name) => ctx.constant(name));
  if (!scale || !variance)
    throw new NoGradientRuleError(`'${node.name}' (BatchNormalization) with computed statistics`);
  const epsilon = Number(attribute(node, 'epsilon') ?? 1e-5);
  const s = floatValues(scale);
  const v = floatValues(variance);
  const factor = Float32Array.from(s, (g, c) => g / Math.sqrt(v[c] + epsilon));
  return [b.node('Mul', [dy, b.constant('bn_factor', [factor.length, 1, 1], factor)])];
};

/** Softmax: dx = y * (dy - sum(dy * y) over the axis). */
const softmax: Rule = (ctx) => {
  const { b, node, dy } = ctx;
  const y = node.output[0];
  const axis = intAttribute(node, 'axis', -1);
  const sum = b.node('ReduceSum', [b.node('Mul', [dy, y]), b.int64s('axes', [axis])], [int('keepdims', 1)]);
  return [b.node('Mul', [y, b.node('Sub', [dy, sum])])];
};

/** ReduceMean: the cotangent spread evenly back over the reduced axes. */
const reduceMean: Rule = (ctx) => {
  const { b, node, dy } = ctx;
  const x = ctx.shape(node.input[0]);
  if (!x) throw new NoGradientRuleError(`'${node.name}' (ReduceMean) of unknown rank`);
  const axesAttr =
    intsAttribute(node, 'axes') ??
    (node.input[1] && ctx.constant(node.input[1]) ? intValues(ctx.constant(node.input[1])!) : undefined);
  const axes = (axesAttr ?? x.map((_, i) => i)).map((a) => (a < 0 ? a + x.length : a));
  const count = axes.reduce((n, a) => n * (x[a] ?? NaN), 1);
  if (!Number.isFinite(count)) throw new NoGradientRuleError(`'${node.name}' (ReduceMean) over axes of unknown size`);
  const kept = intAttribute(node, 'keepdims', 1) ? dy : b.node('Unsqueeze', [dy, b.int64s('axes', axes)]);
  return [
    b.node('Expand', [
      b.node('Div', [kept, b.constant('count', [], Float32Array.of(count))]),
      b.node('Shape', [node.input[0]]),
    ]),
  ];
};

/** Slice with constant starts, ends, axes and unit steps: the cotangent padded back with zeros. */
const slice: Rule = (ctx) => {
  const { b, node, dy } = ctx;
  const x = ctx.shape(node.input[0]);
  const values = (i: number) => (node.input[i] ? ctx.constant(node.input[i]) : undefined);
  const [starts, ends, axesT, stepsT] = [1, 2, 3, 4].map(values);
  if (!x || !starts || !ends) throw new NoGradientRuleError(`'${node.name}' (Slice) with computed bounds`);
  const rank = x.length;
  const axes = (axesT ? intValues(axesT) : intValues(starts).map((_, i) => i)).map((a) => (a < 0 ? a + rank : a));
  if (stepsT && intValues(stepsT).some((step) => step !== 1))
    throw new NoGradientRuleError(`'${node.name}' (Slice) with steps other than 1`);
  const pads = new Array(2 * rank).fill(0);
  axes.forEach((axis, k) => {
    const size = x[axis];
    if (size === null) throw new NoGradientRuleError(`'${node.name}' (Slice) along an axis of unknown size`);
    const clamp = (v: number) => Math.min(size, Math.max(0, v < 0 ? v + size : v));
    const [from, to] = [clamp(intValues(starts)[k]), clamp(intValues(ends)[k])];
    pads[axis] = from;
    pads[axis + rank] = size - to;
  });
  return [b.node('Pad', [dy, b.int64s('pads', pads)])];
};

/** Split: the outputs' cotangents joined along the axis (zeros for an output nobody differentiates). */
const split: Rule = (ctx) => {
  const { b, node, dys } = ctx;
  const rank = ctx.shape(node.input[0])?.length ?? 0;
  const given = intAttribute(node, 'axis', 0);
  const parts = node.output.map((o, i) => dys[i] ?? b.node('Mul', [o, zeroLike(b)]));
  return [b.node('Concat', parts, [int('axis', given < 0 ? given + rank : given)])];
};

/** AveragePool: each output's cotangent shared by its window, through a transposed depthwise convolution of ones. */
const averagePool: Rule = (ctx) => {
  const { b, node, dy } = ctx;
  const x = ctx.shape(node.input[0]);
  if (!x || x.slice(1).some((d) => d === null))
    throw new NoGradientRuleError(`'${node.name}' (AveragePool) on an input of unknown size`);
  if (intAttribute(node, 'ceil_mode', 0)) throw new NoGradientRuleError(`'${node.name}' (AveragePool) with ceil_mode`);
  const channels = x[1] as number;
  const kernel = intsAttribute(node, 'kernel_shape')!;
  const strides = intsAttribute(node, 'strides') ?? [1, 1];
  const pads = explicitPads(node, x.slice(2) as number[], kernel, strides, [1, 1]);
  const y = ctx.shape(node.output[0])!;
  const ones = b.constant('ones', [channels, 1, ...kernel], new Float32Array(channels * kernel[0] * kernel[1]).fill(1));
  // The divisor of each output: the window's size, or with count_include_pad 0 its pixels inside the input.
  const counted = intAttribute(node, 'count_include_pad', 0)
    ? b.constant('window', [], Float32Array.of(kernel[0] * kernel[1]))
    : b.node('Mul', [
        b.node(
          'AveragePool',
          [b.node('Add', [b.node('Mul', [node.input[0], zeroLike(b)]), oneLike(b)])],
          [ints('kernel_shape', kernel), ints('strides', strides), ints('pads', pads), int('count_include_pad', 1)],
        ),
        b.constant('window', [], Float32Array.of(kernel[0] * kernel[1])),
      ]);
  const outputPadding = [0, 1].map(
    (i) => (x[2 + i] as number) - (strides[i] * ((y[2 + i] as number) - 1) + kernel[i] - pads[i] - pads[i + 2]),
  );
  const attrs = [ints('strides', strides), ints('pads', pads), int('group', channels)];
  if (outputPadding.some((p) => p !== 0)) attrs.push(ints('output_padding', outputPadding));
  return [b.node('ConvTranspose', [b.node('Div', [dy, counted]), ones], attrs)];
};

/** ReduceMax: the cotangent to the positions that hold the maximum. */
const reduceMax: Rule = (ctx) => {
  const { b, node, dy } = ctx;
  const x = ctx.shape(node.input[0]);
  if (!x) throw new NoGradientRuleError(`'${node.name}' (ReduceMax) of unknown rank`);
  const axes = (intsAttribute(node, 'axes') ?? x.map((_, i) => i)).map((a) => (a < 0 ? a + x.length : a));
  const keep = (t: string) =>
    intAttribute(node, 'keepdims', 1) ? t : b.node('Unsqueeze', [t, b.int64s('axes', axes)]);
  const top = keep(node.output[0]);
  return [
    masked(b, b.node('Expand', [keep(dy), b.node('Shape', [node.input[0]])]), b.node('Equal', [node.input[0], top])),
  ];
};

const relu: Rule = (ctx) => [masked(ctx.b, ctx.dy, ctx.b.node('Greater', [ctx.node.input[0], zeroLike(ctx.b)]))];
/** Guided backpropagation's Relu: the standard rule, then only the positive part of what it passes. */
const guidedRelu: Rule = (ctx) => [ctx.b.node('Relu', [relu(ctx)[0]!])];

/**
 * Lucid's redirected ReLU: the standard gradient where it is not all zero for an image;
 * otherwise (a channel dead on this image) the gradient passes except where it would push an
 * already negative input lower, so that the optimisation can bring dead units to life.
 */
const redirectedRelu: Rule = (ctx) => {
  const { b, node, dy } = ctx;
  const x = node.input[0];
  const standard = relu(ctx)[0]!;
  const rank = ctx.shape(x)?.length;
  if (!rank) throw new NoGradientRuleError(`'${node.name}' (Relu) of unknown rank`);
  // Where x < 0 and the gradient is negative (raising the objective means lowering x): blocked.
  const lowering = b.node('And', [b.node('Less', [x, zeroLike(b)]), b.node('Less', [dy, zeroLike(b)])]);
  const redirected = b.node('Where', [lowering, b.node('Mul', [dy, zeroLike(b)]), dy]);
  const perImage = Array.from({ length: rank - 1 }, (_, i) => i + 1);
  const magnitude = b.node('ReduceSumSquare', [standard], [ints('axes', perImage), int('keepdims', 1)]);
  return [b.node('Where', [b.node('Greater', [magnitude, zeroLike(b)]), standard, redirected])];
};

const RULES: Record<string, Rule> = {
  Relu: relu,
  // Clip's bounds are inputs (opset 11+); a missing bound is no bound.
  Clip: (ctx) => {
    const { b, node, dy } = ctx;
    const [x, low, high] = node.input;
    let mask = dy;
    if (low) mask = masked(b, mask, b.node('Greater', [x, low]));
    if (high) mask = masked(b, mask, b.node('Less', [x, high]));
    return [mask];
  },
  LeakyRelu: (ctx) => {
    const { b, node, dy } = ctx;
    const alpha = b.constant('alpha', [], Float32Array.of(Number(attribute(node, 'alpha') ?? 0.01)));
    return [b.node('Mul', [dy, b.node('Where', [b.node('Greater', [node.input[0], zeroLike(b)]), oneLike(b), alpha])])];
  },
  Sigmoid: (ctx) => {
    const { b, node, dy } = ctx;
    const y = node.output[0];
    return [b.node('Mul', [dy, b.node('Mul', [y, b.node('Sub', [oneLike(b), y])])])];
  },
  Tanh: (ctx) => {
    const { b, node, dy } = ctx;
    const y = node.output[0];
    return [b.node('Mul', [dy, b.node('Sub', [oneLike(b), b.node('Mul', [y, y])])])];
  },
  Elu: (ctx) => {
    const { b, node, dy } = ctx;
    const alpha = b.constant('alpha', [], Float32Array.of(Number(attribute(node, 'alpha') ?? 1)));
    const negative = b.node('Add', [node.output[0], alpha]);
    return [
      b.node('Mul', [dy, b.node('Where', [b.node('Greater', [node.input[0], zeroLike(b)]), oneLike(b), negative])]),
    ];
  },
  HardSigmoid: (ctx) => {
    const { b, node, dy } = ctx;
    const alpha = Number(attribute(node, 'alpha') ?? 0.2);
    const y = node.output[0];
    const inside = b.node('And', [b.node('Greater', [y, zeroLike(b)]), b.node('Less', [y, oneLike(b)])]);
    return [masked(b, b.node('Mul', [dy, b.constant('alpha', [], Float32Array.of(alpha))]), inside)];
  },
  // x * hardsigmoid(x) with alpha 1/6, beta 1/2: slope (2x + 3) / 6 between -3 and 3.
  HardSwish: (ctx) => {
    const { b, node, dy } = ctx;
    const x = node.input[0];
    const slope = b.node('Div', [
      b.node('Add', [
        b.node('Mul', [x, b.constant('two', [], Float32Array.of(2))]),
        b.constant('three', [], Float32Array.of(3)),
      ]),
      b.constant('six', [], Float32Array.of(6)),
    ]);
    const three = b.constant('three', [], Float32Array.of(3));
    const inner = b.node('Where', [b.node('Greater', [x, three]), oneLike(b), slope]);
    return [b.node('Mul', [dy, b.node('Where', [b.node('Less', [x, b.node('Neg', [three])]), zeroLike(b), inner])])];
  },
  PRelu: (ctx) => {
    const { b, node, dy } = ctx;
    if (ctx.needs(1)) throw new NoGradientRuleError(`'${node.name}' (PRelu) with a computed slope`);
    return [
      b.node('Mul', [
        dy,
        b.node('Where', [b.node('Greater', [node.input[0], zeroLike(b)]), oneLike(b), node.input[1]]),
      ]),
    ];
  },
  Slice: slice,
  Split: split,
  AveragePool: averagePool,
  ReduceMax: reduceMax,
  Identity: (ctx) => [ctx.dy],
  Dropout: (ctx) => [ctx.dy],
  Add: elementwise('Add'),
  Sub: elementwise('Sub'),
  Mul: elementwise('Mul'),
  Div: elementwise('Div'),
  Conv: conv,
  ConvTranspose: convTranspose,
  Resize: resize,
  MaxPool: maxPool,
  GlobalAveragePool: globalAveragePool,
  Gemm: gemm,
  MatMul: matmul,
  Flatten: reshapeBack,
  Reshape: reshapeBack,
  Squeeze: reshapeBack,
  Unsqueeze: reshapeBack,
  Transpose: transpose,
  Concat: concat,
  Pad: pad,
  BatchNormalization: batchNorm,
  Softmax: softmax,
  ReduceMean: reduceMean,
};

/** Bumped when a rule changes, so that gradient models prepared by an older one are not used. */
export const GRADIENT_RULES_VERSION = 1;

/** The ops the builder differentiates, for messages and tests. */
export const GRADIENT_OPS = Object.keys(RULES).sort();

/** Tensors on a path from any of `from` to `to`: the only ones whose gradient matters. */
function onPaths(graph: GraphProto, from: string[], to: string): Set<string> {
  const reached = new Set(from);
  for (const node of graph.node) if (node.input.some((i) => reached.has(i))) node.output.forEach((o) => reached.add(o));
  const needed = new Set([to]);
  for (const node of [...graph.node].reverse())
    if (node.output.some((o) => needed.has(o))) node.input.forEach((i) => reached.has(i) && needed.add(i));
  return new Set([...needed].filter((t) => reached.has(t)));
}

export interface GradientRequest {
  /** The forward model, decoded (its graph is copied, not changed). */
  model: ModelProto;
  /** The graph input and its shape, batch included (null where free). */
  input: { name: string; shape: Shape };
  /** The tensor whose cotangent is the seed input. */
  target: string;
  /** Tensors whose gradients become outputs. */
  wrt: string[];
  /**
   * How a Relu passes gradients back: 'standard'; 'guided' (Springenberg et al.): only
   * positive gradients, only where the input was positive, as guided backpropagation does;
   * 'redirected' (Lucid's, for feature visualization): where no gradient passes a ReLU for an
   * image, the gradients that would raise its negative inputs pass too.
   */
  relu?: 'standard' | 'guided' | 'redirected';
  /**
   * A stride-1 Conv's input gradient as a Conv with the flipped kernel (default), or as the
   * ConvTranspose every stride takes: the bench measures both.
   */
  convGradient?: 'conv' | 'transpose';
}

/** ScatterElements with reduction 'add' (MaxPool's rule) needs opset 16. */
const GRADIENT_OPSET = 16;

/**
 * The gradient model: inputs the forward input and `target:seed`; outputs the target, each wrt
 * tensor, and each wrt tensor's gradient (`tensor:grad`). Throws NoGradientRuleError naming the
 * first op on the way that has no rule.
 */
export function gradientModel({
  model,
  input,
  target,
  wrt,
  relu = 'standard',
  convGradient = 'conv',
}: GradientRequest): Uint8Array {
  const rules =
    relu === 'guided'
      ? { ...RULES, Relu: guidedRelu }
      : relu === 'redirected'
        ? { ...RULES, Relu: redirectedRelu }
        : RULES;
  // A copy: rules may ask a forward node for more (MaxPool's indices).
  const forward = onnx.GraphProto.decode(
    onnx.GraphProto.encode(model.graph as never).finish(),
  ) as unknown as GraphProto;
  const shapes = inferTensorShapes(forward, input);
  const constants = new Map(forward.initializer.map((t) => [t.name, t]));
  for (const node of forward.node)
    if (node.opType === 'Constant') {
      const value = attribute(node, 'value');
      if (value && typeof value === 'object' && !Array.isArray(value))
        constants.set(node.output[0], value as TensorProto);
    }
  const needed = onPaths(forward, wrt, target);
  // A tensor off every path to the target would get a gradient of zeros: a mistake, never an answer.
  const stray = wrt.find((t) => !needed.has(t));
  if (stray) throw new NoGradientRuleError(`'${stray}', which does not lead to '${target}'`);
  const b = new GraphBuilder('grad/');
  const cotangents = new Map<string, string>([[target, seedName(target)]]);
  const accumulate = (tensor: string, grad: string) => {
    const known = cotangents.get(tensor);
    cotangents.set(tensor, known ? b.node('Add', [known, grad]) : grad);
  };
  for (const node of [...forward.node].reverse()) {
    const dys = node.output.map((o) => cotangents.get(o));
    if (!dys.some(Boolean) || !node.input.some((i) => needed.has(i))) continue;
    // An output nobody differentiates contributes zeros of its own shape.
    const dy = dys[0] ?? b.node('Mul', [node.output[0], zeroLike(b)]);
    const rule = rules[node.opType];
    if (!rule) throw new NoGradientRuleError(`'${node.name || node.output[0]}' (${node.opType})`);
    const grads = rule({
      b,
      node,
      dy,
      dys,
      shape: (t) => shapes.get(t),
      constant: (t) => constants.get(t),
      needs: (i) => needed.has(node.input[i]),
      convGradient,
    });
    grads.forEach((grad, i) => grad && needed.has(node.input[i]) && accumulate(node.input[i], grad));
  }
  const outputs = [target, ...wrt];
  const gradients = wrt.map((t) => b.node('Identity', [cotangents.get(t) ?? zeroLike(b)], [], gradientName(t)));
  const targetShape = shapes.get(target);
  const out = onnx.GraphProto.create({
    name: `${forward.name || 'model'}-gradient`,
    node: [...forward.node, ...b.nodes] as never,
    initializer: [...forward.initializer, ...b.initializers] as never,
    input: [
      ...forward.input,
      valueInfo(
        seedName(target),
        targetShape?.map((d, i) => d ?? `d${i}`),
      ),
    ] as never,
    output: [...outputs, ...gradients].map((name) => valueInfo(name)) as never,
  });
  const opsets = (model.opsetImport ?? []).filter((o) => o.domain && o.domain !== '');
  return onnx.ModelProto.encode(
    onnx.ModelProto.create({
      irVersion: 8,
      opsetImport: [{ domain: '', version: GRADIENT_OPSET }, ...opsets] as never,
      producerName: 'cnnviz gradient',
      graph: out,
    }),
  ).finish();
}
