/**
 * Translates a TensorFlow.js graph model (its nodes, constants and inferred shapes) into an
 * in-memory ONNX graph whose outputs are the requested nodes. Tensors stay NHWC as in the
 * TensorFlow graph, so element-wise ops, axes, paddings and reshapes keep their meaning; each
 * convolution and pool is wrapped in a pair of transposes to ONNX's NCHW, and ONNX Runtime's
 * transpose optimiser cancels the pairs between neighbours (what is left is one transpose in
 * and one per output).
 */
import type { Shape } from '../../net/net.js';
import { samePadding } from '../../net/geometry.js';
import type { WeightArray } from '../../weights/h5.js';
import {
  type Attribute,
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
import {
  attrBool,
  sourceOf,
  attrInt,
  attrInts,
  attrString,
  attrStrings,
  axisOf,
  graphWindow,
  isNchw,
  spatialAxes,
  stridedSlice,
  tensorOf,
  type GraphNode,
  type Layout,
  type SliceAxis,
} from './shapes.js';

/** ONNX's tensor element types, as Cast's `to` takes them. */
const [FLOAT, INT32, INT64, BOOL] = [1, 6, 7, 9];

interface Context {
  b: GraphBuilder;
  node: GraphNode;
  /** The node's data inputs' tensors: the source node's name, or 'name:k' for its k-th output (control inputs dropped). */
  sources: string[];
  /** The ONNX tensor of the i-th data input (a constant becomes an initialiser). */
  tensor(i: number): string;
  /** A constant input's values, stored or folded; throws when the input is computed. */
  constant(i: number): WeightArray;
  /** A constant input's values, or undefined when it is computed. */
  known(i: number): number[] | undefined;
  shape(i: number): Shape | undefined;
  /** The layout of the i-th input, when it is a 4-d map. */
  layout(i: number): Layout | undefined;
}

/** The tensor a node computes, or one per output for a node of several. */
type Translate = (ctx: Context) => string | string[];

const layoutOf = (ctx: Context, i: number): Layout | undefined => ctx.layout(i);

const nchw = (b: GraphBuilder, x: string) => b.node('Transpose', [x], [ints('perm', NHWC_TO_NCHW)]);
const nhwc = (b: GraphBuilder, x: string) => b.node('Transpose', [x], [ints('perm', NCHW_TO_NHWC)]);

function checkNhwc(node: GraphNode): void {
  const format = attrString(node, 'data_format') ?? 'NHWC';
  if (format !== 'NHWC') throw new UntranslatableError(`'${node.name}' (${node.op}) in ${format}`);
}

/** An op of NCHW or NHWC data_format: NCHW as ONNX has it, NHWC wrapped in transposes to it and back. */
function asNchw(ctx: Context, x: string, op: (x: string) => string): string {
  const format = attrString(ctx.node, 'data_format') ?? 'NHWC';
  if (format === 'NCHW') return op(x);
  if (format !== 'NHWC') throw new UntranslatableError(`'${ctx.node.name}' (${ctx.node.op}) in ${format}`);
  return nhwc(ctx.b, op(nchw(ctx.b, x)));
}

const inputSize = (ctx: Context): [number | null, number | null] => {
  const [ha, wa] = spatialAxes(ctx.node);
  return [ctx.shape(0)?.[ha] ?? null, ctx.shape(0)?.[wa] ?? null];
};

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
    return asNchw(ctx, ctx.tensor(0), (x) => {
      const conv = b.node(
        'Conv',
        [x, weight, ...(hasBias ? [b.constant('B', [cout], ctx.constant(2).data)] : [])],
        attributes,
      );
      return fusedAct ? activation(b, fusedAct, conv, node) : conv;
    });
  };

const pool =
  (opType: 'MaxPool' | 'AveragePool'): Translate =>
  (ctx) => {
    const ksize = attrInts(ctx.node, 'ksize') ?? [1, 1, 1, 1];
    const [ha, wa] = spatialAxes(ctx.node);
    const attributes = windowAttributes(graphWindow(ctx.node, [ksize[ha], ksize[wa]]), inputSize(ctx));
    return asNchw(ctx, ctx.tensor(0), (x) => ctx.b.node(opType, [x], attributes));
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
  const { b } = ctx;
  const stats = [1, 2, 3, 4].map((i) => b.constant('bn', ctx.constant(i).shape, ctx.constant(i).data));
  return asNchw(ctx, ctx.tensor(0), (x) =>
    b.node('BatchNormalization', [x, ...stats], [float('epsilon', ctx.node.attr?.epsilon?.f ?? 1e-3)]),
  );
};

/** BiasAdd: channels last, a plain sum; channels first, the bias as (C, 1, 1). */
const biasAdd: Translate = (ctx) => {
  if (!isNchw(ctx.node)) return (checkNhwc(ctx.node), ctx.b.node('Add', [ctx.tensor(0), ctx.tensor(1)]));
  const bias = ctx.b.node('Unsqueeze', [ctx.tensor(1), ctx.b.int64s('axes', [1, 2])]);
  return ctx.b.node('Add', [ctx.tensor(0), bias]);
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
  (opType: 'ReduceMean' | 'ReduceMax' | 'ReduceMin' | 'ReduceSum' | 'ReduceProd'): Translate =>
  (ctx) => {
    const rank = ctx.shape(0)?.length;
    if (rank === undefined) throw new UntranslatableError(`'${ctx.node.name}' (${ctx.node.op}) of unknown rank`);
    const keepdims = int('keepdims', ctx.node.attr?.keep_dims?.b ? 1 : 0);
    const axes = axisValues(ctx, 1, rank);
    // Opset 13 moved ReduceSum's axes (alone) from an attribute to an input.
    if (opType === 'ReduceSum') return ctx.b.node(opType, [ctx.tensor(0), ctx.b.int64s('axes', axes)], [keepdims]);
    return ctx.b.node(opType, [ctx.tensor(0)], [ints('axes', axes), keepdims]);
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

const reshape: Translate = (ctx) => ctx.b.node('Reshape', [ctx.tensor(0), int64Input(ctx, 1)]);

/** Shape, computed where the graph left it (a size unknown until run): as float, as every tensor here. */
const shape: Translate = (ctx) => ctx.b.node('Cast', [ctx.b.node('Shape', [ctx.tensor(0)])], [int('to', FLOAT)]);

const fill: Translate = (ctx) => ctx.b.node('Expand', [ctx.tensor(1), int64Input(ctx, 0)]);

const rsqrt: Translate = (ctx) => ctx.b.node('Reciprocal', [ctx.b.node('Sqrt', [ctx.tensor(0)])]);

/** TensorFlow's resize coordinate rules as ONNX Resize attributes (the image is NCHW by then). */
function resizeAttributes(node: GraphNode): Attribute[] {
  const alignCorners = attrBool(node, 'align_corners');
  const halfPixel = attrBool(node, 'half_pixel_centers');
  if (node.op === 'ResizeBilinear')
    return [
      string('mode', 'linear'),
      string(
        'coordinate_transformation_mode',
        alignCorners ? 'align_corners' : halfPixel ? 'half_pixel' : 'asymmetric',
      ),
    ];
  // Nearest: TensorFlow floors (x + 0.5) * scale with half-pixel centres, which is ONNX's
  // half-pixel position rounded half up; it rounds with corners aligned, and floors otherwise.
  return [
    string('mode', 'nearest'),
    string('coordinate_transformation_mode', alignCorners ? 'align_corners' : halfPixel ? 'half_pixel' : 'asymmetric'),
    string('nearest_mode', alignCorners || halfPixel ? 'round_prefer_ceil' : 'floor'),
  ];
}

/**
 * An input that ONNX takes as int64 (a shape, a size, repeats): the values when they are
 * known (stored or folded), else the computed tensor (every tensor here is float) cast.
 */
function int64Input(ctx: Context, i: number): string {
  const known = ctx.known(i);
  return known ? ctx.b.int64s('ints', known) : ctx.b.node('Cast', [ctx.tensor(i)], [int('to', INT64)]);
}

/** ResizeBilinear and ResizeNearestNeighbor to the size their second input holds. */
const resize: Translate = (ctx) => {
  const { b, node } = ctx;
  const nchwIn = layoutOf(ctx, 0) === 'NCHW';
  const x = nchwIn ? ctx.tensor(0) : nchw(b, ctx.tensor(0));
  // Sizes: the batch and channels as they come, the new height and width.
  const sizes = b.node(
    'Concat',
    [b.node('Slice', [b.node('Shape', [x]), b.int64s('s', [0]), b.int64s('e', [2])]), int64Input(ctx, 1)],
    [int('axis', 0)],
  );
  const resized = b.node('Resize', [x, '', '', sizes], resizeAttributes(node));
  return nchwIn ? resized : nhwc(b, resized);
};

/** Conv2DBackpropInput (a transposed convolution, as Keras' Conv2DTranspose converts) to ConvTranspose. */
const convBackprop: Translate = (ctx) => {
  const { b, node } = ctx;
  checkNhwc(node);
  const [, outH, outW] = Array.from(ctx.constant(0).data);
  const filter = ctx.constant(1);
  // TensorFlow's filter is (kh, kw, out, in); ONNX's ConvTranspose weight (in, out, kh, kw).
  const [kh, kw, cout, cin] = filter.shape;
  const weight = new Float32Array(filter.data.length);
  for (let i = 0; i < kh; i++)
    for (let j = 0; j < kw; j++)
      for (let o = 0; o < cout; o++)
        for (let c = 0; c < cin; c++)
          weight[((c * cout + o) * kh + i) * kw + j] = filter.data[((i * kw + j) * cout + o) * cin + c];
  const window = graphWindow(node, [kh, kw]);
  const [inH, inW] = [ctx.shape(2)?.[1], ctx.shape(2)?.[2]];
  if (typeof inH !== 'number' || typeof inW !== 'number')
    throw new UntranslatableError(`'${node.name}' (${node.op}) on an input of undefined size`);
  // The pads of the forward convolution this one inverts (output to input), and the rows and
  // columns that convolution never reached, added at the end as output padding.
  const along = (out: number, input: number, axis: 0 | 1) => {
    const [k, s, d] = [window.kernel[axis], window.strides[axis], window.dilations[axis]];
    const reach = (k - 1) * d + 1;
    const [before, after] =
      window.padding === 'same'
        ? samePadding(out, k, s, d)
        : window.padding === 'valid'
          ? [0, 0]
          : [window.padding[axis], window.padding[axis + 2]];
    return { before, after, extra: out - (s * (input - 1) + reach - before - after) };
  };
  const [y, x] = [along(outH, inH, 0), along(outW, inW, 1)];
  const made = b.node(
    'ConvTranspose',
    [nchw(b, ctx.tensor(2)), b.constant('W', [cin, cout, kh, kw], weight)],
    [
      ints('kernel_shape', [kh, kw]),
      ints('strides', window.strides),
      ints('dilations', window.dilations),
      ints('pads', [y.before, x.before, y.after, x.after]),
      ints('output_padding', [y.extra, x.extra]),
    ],
  );
  return nhwc(b, made);
};

/** DepthToSpace: TensorFlow's channel order is ONNX's DCR. */
const depthToSpace: Translate = (ctx) => {
  const attributes = [int('blocksize', attrInt(ctx.node, 'block_size', 1)), string('mode', 'DCR')];
  return asNchw(ctx, ctx.tensor(0), (x) => ctx.b.node('DepthToSpace', [x], attributes));
};

/**
 * SpaceToBatchND (what a dilated convolution converts to, with BatchToSpaceND after it) as
 * ONNX has no such op: pad, split each spatial axis into (blocks, block), and move the blocks
 * in front of the batch.
 */
const spaceToBatch: Translate = (ctx) => {
  const { b } = ctx;
  const [bh, bw] = Array.from(ctx.constant(1).data);
  const p = Array.from(ctx.constant(2).data);
  const padded = ctx.b.node('Pad', [ctx.tensor(0), b.int64s('pads', [0, p[0], p[2], 0, 0, p[1], p[3], 0])]);
  const [, h, w, c] = ctx.shape(0) ?? [];
  if (typeof h !== 'number' || typeof w !== 'number' || typeof c !== 'number')
    throw new UntranslatableError(`'${ctx.node.name}' (SpaceToBatchND) on an input of undefined size`);
  const [H, W] = [(h + p[0] + p[1]) / bh, (w + p[2] + p[3]) / bw];
  const split = b.node('Reshape', [padded, b.int64s('shape', [-1, H, bh, W, bw, c])]);
  const moved = b.node('Transpose', [split], [ints('perm', [2, 4, 0, 1, 3, 5])]);
  return b.node('Reshape', [moved, b.int64s('shape', [-1, H, W, c])]);
};

/** BatchToSpaceND: the blocks back from the batch into the spatial axes, then the crops. */
const batchToSpace: Translate = (ctx) => {
  const { b } = ctx;
  const [bh, bw] = Array.from(ctx.constant(1).data);
  const crops = Array.from(ctx.constant(2).data);
  const [, h, w, c] = ctx.shape(0) ?? [];
  if (typeof h !== 'number' || typeof w !== 'number' || typeof c !== 'number')
    throw new UntranslatableError(`'${ctx.node.name}' (BatchToSpaceND) on an input of undefined size`);
  const split = b.node('Reshape', [ctx.tensor(0), b.int64s('shape', [bh, bw, -1, h, w, c])]);
  const moved = b.node('Transpose', [split], [ints('perm', [2, 3, 0, 4, 1, 5])]);
  const joined = b.node('Reshape', [moved, b.int64s('shape', [-1, h * bh, w * bw, c])]);
  return b.node('Slice', [
    joined,
    b.int64s('starts', [crops[0], crops[2]]),
    b.int64s('ends', [h * bh - crops[1], w * bw - crops[3]]),
    b.int64s('axes', [1, 2]),
  ]);
};

/** A slice's end past any axis (ONNX clamps it): for lengths unknown until run, as the batch's. */
const INT64_MAX = 2 ** 62;

const stridedSliceOp: Translate = (ctx) => {
  const { b, node } = ctx;
  const x = ctx.shape(0);
  if (!x) throw new UntranslatableError(`'${node.name}' (StridedSlice) of unknown rank`);
  const [begin, end, strides] = [1, 2, 3].map((i) => Array.from(ctx.constant(i).data));
  const axes = stridedSlice(node, x, begin, end, strides);
  const read = axes.filter((a): a is SliceAxis & { axis: number } => a.axis !== undefined);
  // Lengths unknown until run are Infinity here: ONNX clamps the largest int64 to the axis.
  const bound = (v: number) => (v === Infinity ? INT64_MAX : v);
  const sliced = b.node('Slice', [
    ctx.tensor(0),
    b.int64s(
      'starts',
      read.map((a) => bound(a.start)),
    ),
    // A backward slice to the start stops before index -1, which ONNX reads from the end.
    b.int64s(
      'ends',
      read.map((a) => (a.stop === -1 && a.step < 0 ? -INT64_MAX : bound(a.stop))),
    ),
    b.int64s(
      'axes',
      read.map((a) => a.axis),
    ),
    b.int64s(
      'steps',
      read.map((a) => a.step),
    ),
  ]);
  const shrink = read.filter((a) => a.shrink).map((a) => a.axis);
  const squeezed = shrink.length ? b.node('Squeeze', [sliced, b.int64s('axes', shrink)]) : sliced;
  // New axes, counted in the output.
  const kept = axes.filter((a) => !a.shrink);
  const added = kept.flatMap((a, i) => (a.axis === undefined ? [i] : []));
  return added.length ? b.node('Unsqueeze', [squeezed, b.int64s('axes', added)]) : squeezed;
};

const sliceOp: Translate = (ctx) => {
  const begin = Array.from(ctx.constant(1).data);
  const size = Array.from(ctx.constant(2).data);
  return ctx.b.node('Slice', [
    ctx.tensor(0),
    ctx.b.int64s('starts', begin),
    ctx.b.int64s(
      'ends',
      size.map((s, i) => (s === -1 ? INT64_MAX : begin[i] + s)),
    ),
  ]);
};

const pack: Translate = (ctx) => {
  const rank = (ctx.shape(0)?.length ?? 0) + 1;
  const axis = axisOf(attrInt(ctx.node, 'axis'), rank);
  const parts = ctx.sources.map((_, i) => ctx.b.node('Unsqueeze', [ctx.tensor(i), ctx.b.int64s('axes', [axis])]));
  return parts.length === 1 ? parts[0] : ctx.b.node('Concat', parts, [int('axis', axis)]);
};

/** Unpack, Split and SplitV: several outputs, each its own tensor. */
function splitInto(ctx: Context, x: string, axis: number, sizes: number[], squeeze: boolean): string[] {
  const { b } = ctx;
  const parts = b.nodeOutputs('Split', [x, b.int64s('split', sizes)], sizes.length, [int('axis', axis)]);
  return squeeze ? parts.map((p) => b.node('Squeeze', [p, b.int64s('axes', [axis])])) : parts;
}

const unpack: Translate = (ctx) => {
  const x = ctx.shape(0);
  const axis = axisOf(attrInt(ctx.node, 'axis'), x?.length ?? 0);
  const n = x?.[axis];
  if (typeof n !== 'number') throw new UntranslatableError(`'${ctx.node.name}' (Unpack) along an axis of unknown size`);
  return splitInto(ctx, ctx.tensor(0), axis, Array(n).fill(1), true);
};

const split: Translate = (ctx) => {
  const x = ctx.shape(1);
  const axis = axisOf(ctx.constant(0).data[0], x?.length ?? 0);
  const n = attrInt(ctx.node, 'num_split', 1);
  const length = x?.[axis];
  if (typeof length !== 'number')
    throw new UntranslatableError(`'${ctx.node.name}' (Split) along an axis of unknown size`);
  return splitInto(ctx, ctx.tensor(1), axis, Array(n).fill(length / n), false);
};

const splitV: Translate = (ctx) => {
  const x = ctx.shape(0);
  const axis = axisOf(ctx.constant(2).data[0], x?.length ?? 0);
  const sizes = Array.from(ctx.constant(1).data);
  const length = x?.[axis];
  if (sizes.includes(-1) && typeof length !== 'number')
    throw new UntranslatableError(`'${ctx.node.name}' (SplitV) along an axis of unknown size`);
  const rest = (length as number) - sizes.filter((s) => s !== -1).reduce((a, c) => a + c, 0);
  return splitInto(
    ctx,
    ctx.tensor(0),
    axis,
    sizes.map((s) => (s === -1 ? rest : s)),
    false,
  );
};

const transpose: Translate = (ctx) =>
  ctx.b.node('Transpose', [ctx.tensor(0)], [ints('perm', Array.from(ctx.constant(1).data))]);

const expandDims: Translate = (ctx) => {
  const rank = (ctx.shape(0)?.length ?? 0) + 1;
  return ctx.b.node('Unsqueeze', [ctx.tensor(0), ctx.b.int64s('axes', [axisOf(ctx.constant(1).data[0], rank)])]);
};

const tile: Translate = (ctx) => ctx.b.node('Tile', [ctx.tensor(0), int64Input(ctx, 1)]);

const broadcastTo: Translate = (ctx) => ctx.b.node('Expand', [ctx.tensor(0), int64Input(ctx, 1)]);

/** Indices as int64 (a constant's, or a computed tensor cast). */
const indices = (ctx: Context, i: number): string => {
  const known = ctx.known(i);
  return known
    ? ctx.b.int64s('indices', known, ctx.constant(i).shape)
    : ctx.b.node('Cast', [ctx.tensor(i)], [int('to', INT64)]);
};

const gather: Translate = (ctx) => {
  const rank = ctx.shape(0)?.length ?? 0;
  const axis = ctx.node.op === 'Gather' ? 0 : axisOf(ctx.constant(2).data[0], rank);
  return ctx.b.node('Gather', [ctx.tensor(0), indices(ctx, 1)], [int('axis', axis)]);
};

const gatherNd: Translate = (ctx) => ctx.b.node('GatherND', [ctx.tensor(0), indices(ctx, 1)]);

/** Cast: every tensor of a translation is float; a cast to an integer truncates, to bool tests non-zero. */
const cast: Translate = (ctx) => {
  const to = String(ctx.node.attr?.DstT?.type ?? 'DT_FLOAT');
  if (to === 'DT_FLOAT') return ctx.b.node('Identity', [ctx.tensor(0)]);
  const type = to === 'DT_BOOL' ? BOOL : INT32;
  return ctx.b.node('Cast', [ctx.b.node('Cast', [ctx.tensor(0)], [int('to', type)])], [int('to', FLOAT)]);
};

const squaredDifference: Translate = (ctx) => {
  const d = ctx.b.node('Sub', [ctx.tensor(0), ctx.tensor(1)]);
  return ctx.b.node('Mul', [d, d]);
};
const floorDivOf = (ctx: Context): string => ctx.b.node('Floor', [ctx.b.node('Div', [ctx.tensor(0), ctx.tensor(1)])]);
const floorDiv: Translate = floorDivOf;
/** x - floor(x / y) * y: the sign of the divisor, as TensorFlow's FloorMod. */
const floorMod: Translate = (ctx) =>
  ctx.b.node('Sub', [ctx.tensor(0), ctx.b.node('Mul', [floorDivOf(ctx), ctx.tensor(1)])]);
const square: Translate = (ctx) => ctx.b.node('Mul', [ctx.tensor(0), ctx.tensor(0)]);
const prelu: Translate = (ctx) => ctx.b.node('PRelu', [ctx.tensor(0), ctx.tensor(1)]);

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
  BiasAdd: biasAdd,
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
  Min: reduce('ReduceMin'),
  Sum: reduce('ReduceSum'),
  Prod: reduce('ReduceProd'),
  Pad: pad,
  MirrorPad: pad,
  ConcatV2: concat,
  Squeeze: squeeze,
  Reshape: reshape,
  Shape: shape,
  Fill: fill,
  Prelu: prelu,
  ResizeBilinear: resize,
  ResizeNearestNeighbor: resize,
  Conv2DBackpropInput: convBackprop,
  DepthToSpace: depthToSpace,
  SpaceToBatchND: spaceToBatch,
  BatchToSpaceND: batchToSpace,
  StridedSlice: stridedSliceOp,
  Slice: sliceOp,
  Pack: pack,
  Unpack: unpack,
  Split: split,
  SplitV: splitV,
  Transpose: transpose,
  ExpandDims: expandDims,
  Tile: tile,
  BroadcastTo: broadcastTo,
  Gather: gather,
  GatherV2: gather,
  GatherNd: gatherNd,
  Cast: cast,
  StopGradient: unary('Identity'),
  Square: square,
  Abs: unary('Abs'),
  Exp: unary('Exp'),
  Log: unary('Log'),
  Floor: unary('Floor'),
  Ceil: unary('Ceil'),
  Round: unary('Round'),
  Sign: unary('Sign'),
  Reciprocal: unary('Reciprocal'),
  Softplus: unary('Softplus'),
  Div: elementwise('Div'),
  Pow: elementwise('Pow'),
  SquaredDifference: squaredDifference,
  FloorDiv: floorDiv,
  FloorMod: floorMod,
};

/** The graph-model ops the translation covers (the rest run on tfjs-converter). */
export const TRANSLATED_OPS = Object.keys(TRANSLATORS);

export interface GraphTranslationInput {
  name: string;
  nodes: GraphNode[];
  constants: Map<string, WeightArray>;
  shapes: Map<string, Shape>;
  /** Shape arithmetic folded to values: those nodes become constants. */
  folded: Map<string, number[]>;
  /** The layout of each node's 4-d output. */
  layouts: Map<string, Layout>;
  /** The Placeholder node the image feeds. */
  input: string;
  /** Other inputs, each a constant value: zeros of its shape, or what --input set. */
  fixedInputs?: Map<string, WeightArray>;
  /** Full node names, in the order the outputs are wanted. */
  outputs: string[];
}

/** The nodes `outputs` depend on, in the graph's order; a folded node needs nothing before it. */
function neededNodes(nodes: GraphNode[], outputs: string[], folded: Map<string, number[]>): GraphNode[] {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const needed = new Set<string>();
  const visit = (name: string): void => {
    if (needed.has(name)) return;
    needed.add(name);
    if (folded.has(name)) return;
    for (const i of byName.get(name)?.input ?? []) if (!i.startsWith('^')) visit(sourceOf(i));
  };
  outputs.forEach(visit);
  return nodes.filter((n) => needed.has(n.name));
}

/**
 * The ONNX model computing `outputs` (each channels-last, whatever the graph's layout), from a
 * channels-last image. Throws UntranslatableError naming the first node it cannot express.
 */
export function translateGraphToOnnx({
  name,
  nodes,
  constants,
  shapes,
  folded,
  layouts,
  input,
  fixedInputs = new Map(),
  outputs,
}: GraphTranslationInput): Uint8Array {
  const b = new GraphBuilder();
  const inputLayout = layouts.get(input) ?? 'NHWC';
  const tensors = new Map<string, string>([[input, inputLayout === 'NCHW' ? nchw(b, onnxInput) : onnxInput]]);
  const valuesOf = (source: string): WeightArray | undefined => {
    const stored = constants.get(source) ?? fixedInputs.get(source);
    if (stored) return stored;
    const values = folded.get(source);
    return values && { name: source, shape: shapes.get(source) as number[], data: Float32Array.from(values) };
  };
  for (const node of neededNodes(nodes, outputs, folded)) {
    if (node.op === 'Const' || node.name === input || node.op === 'NoOp' || folded.has(node.name)) continue;
    if (fixedInputs.has(node.name)) continue;
    const translate = TRANSLATORS[node.op];
    if (!translate) throw new UntranslatableError(`'${node.name}' (${node.op})`);
    const sources = (node.input ?? []).filter((i) => !i.startsWith('^')).map(tensorOf);
    const constant = (i: number): WeightArray => {
      const value = valuesOf(sources[i]);
      if (!value)
        throw new UntranslatableError(
          `'${node.name}' (${node.op}) with a computed ${i === 1 ? 'second' : `input ${i}`} input`,
        );
      return value;
    };
    const tensor = (i: number): string => {
      const known = tensors.get(sources[i]);
      if (known) return known;
      if (sources[i].includes(':') && !valuesOf(sources[i]))
        throw new UntranslatableError(`'${node.name}' (${node.op}) reading an output ONNX has not: '${sources[i]}'`);
      const value = constant(i);
      const made = b.constant(sources[i], value.shape, value.data);
      tensors.set(sources[i], made);
      return made;
    };
    const made = translate({
      b,
      node,
      sources,
      tensor,
      constant,
      known: (i) => {
        const value = valuesOf(sources[i]);
        return value && Array.from(value.data);
      },
      shape: (i) => shapes.get(sources[i]),
      layout: (i) => layouts.get(sources[i]),
    });
    (Array.isArray(made) ? made : [made]).forEach((t, k) => tensors.set(k === 0 ? node.name : `${node.name}:${k}`, t));
  }
  const outputNames = onnxOutputs(outputs).map((outputName, i) => {
    const made = tensors.get(outputs[i]);
    if (!made) throw new UntranslatableError(`'${outputs[i]}', whose value is folded to a constant`);
    const channelsLast = layouts.get(outputs[i]) === 'NCHW' ? nhwc(b, made) : made;
    return b.node('Identity', [channelsLast], [], outputName);
  });
  const shape = shapes.get(input) ?? [null, null, null, null];
  const [h, w, c] = inputLayout === 'NCHW' ? [shape[2], shape[3], shape[1]] : shape.slice(1);
  return encodeTranslation(name, b, [h, w, c], outputNames);
}
