/**
 * Translates a Keras model (its config, inferred shapes and weights) into an in-memory ONNX
 * graph whose outputs are exactly the requested layers, for onnxruntime-node. Inside the
 * graph every image tensor is NCHW, ONNX's layout: the NHWC input is transposed once at the
 * start and each requested output transposed back, so callers see channels-last arrays as
 * from the tfjs path. The protobuf is encoded by onnx-proto (code generated from onnx.proto).
 */
import type { DataFormat, LayerNode, ModelGraph } from './graph.js';
import type { LayerWeights, WeightArray } from '../../weights/h5.js';
import { kerasWindow, paddingPairs, type LayerShapes } from './shapes.js';
import { mapDims } from '../../net/net.js';
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
  windowAttributes,
  type Attribute,
} from '../../graph/build.js';
import { onnxInput, onnxOutputs, UntranslatableError } from '../../graph/translated.js';

export { convWeight, depthwiseWeight, UntranslatableError };

interface Context {
  b: GraphBuilder;
  layer: LayerNode;
  shapes: LayerShapes;
  weights: WeightArray[];
  inputs: string[];
  dataFormat: DataFormat;
}

/** The ONNX (NCHW) axis of a Keras axis on a tensor of the given rank. */
function onnxAxis(axis: number, rank: number, dataFormat: DataFormat): number {
  const positive = axis < 0 ? rank + axis : axis;
  return rank === 4 && dataFormat === 'channels_last' ? [0, 2, 3, 1][positive] : positive;
}

/** Keras activation functions by name, applied to `x`. */
function activation(
  b: GraphBuilder,
  name: string | undefined,
  x: string,
  rank: number,
  dataFormat: DataFormat,
): string {
  switch (name ?? 'linear') {
    case 'linear':
      return x;
    case 'hard_sigmoid':
      return b.node('HardSigmoid', [x], [float('alpha', 0.2), float('beta', 0.5)]);
    case 'swish':
    case 'silu':
      return b.node('Mul', [x, b.node('Sigmoid', [x])]);
    case 'softmax':
      return b.node('Softmax', [x], [int('axis', onnxAxis(-1, rank, dataFormat))]);
    default: {
      const node = activationNode(b, name!, x);
      if (!node) throw new UntranslatableError(`activation '${name}'`);
      return node;
    }
  }
}

/** Conv and pool attributes of a Keras layer, its window as the net describes it. */
function spatialAttributes(layer: LayerNode, input: [number | null, number | null]): Attribute[] {
  if (layer.config.padding !== undefined && layer.config.padding !== 'same' && layer.config.padding !== 'valid')
    throw new UntranslatableError(`padding '${layer.config.padding}'`);
  return windowAttributes(kerasWindow(layer.className, layer.config)!, input);
}

/** (height, width) of a layer's input. */
function inputSize({ shapes, dataFormat }: Context): [number | null, number | null] {
  const [h, w] = mapDims(shapes.inputShapes[0], dataFormat) ?? [null, null];
  return [h, w];
}

const rankOf = (s: LayerShapes): number => s.outputShape?.length ?? 0;

type Translate = (ctx: Context) => string;

const conv2d: Translate = (ctx) => {
  const { b, layer, weights, inputs, shapes, dataFormat } = ctx;
  const [kernel, bias] = weights;
  const [kh, kw, cin, cout] = kernel.shape;
  if ((layer.config.groups ?? 1) !== 1) throw new UntranslatableError('grouped convolution');
  const w = b.constant(`${layer.name}_W`, [cout, cin, kh, kw], convWeight(kernel.data, kernel.shape));
  const conv = b.node(
    'Conv',
    bias ? [inputs[0], w, b.constant(`${layer.name}_B`, [cout], bias.data)] : [inputs[0], w],
    spatialAttributes(layer, inputSize(ctx)),
  );
  return activation(b, layer.config.activation, conv, rankOf(shapes), dataFormat);
};

const depthwiseConv2d: Translate = (ctx) => {
  const { b, layer, weights, inputs, shapes, dataFormat } = ctx;
  const [kernel, bias] = weights;
  const [kh, kw, cin, mult] = kernel.shape;
  const w = b.constant(`${layer.name}_W`, [cin * mult, 1, kh, kw], depthwiseWeight(kernel.data, kernel.shape));
  const attributes = [...spatialAttributes(layer, inputSize(ctx)), int('group', cin)];
  const conv = b.node(
    'Conv',
    bias ? [inputs[0], w, b.constant(`${layer.name}_B`, [cin * mult], bias.data)] : [inputs[0], w],
    attributes,
  );
  return activation(b, layer.config.activation, conv, rankOf(shapes), dataFormat);
};

const separableConv2d: Translate = (ctx) => {
  const { b, layer, weights, inputs, shapes, dataFormat } = ctx;
  const [depthwise, pointwise, bias] = weights;
  const [kh, kw, cin, mult] = depthwise.shape;
  const dw = b.constant(`${layer.name}_DW`, [cin * mult, 1, kh, kw], depthwiseWeight(depthwise.data, depthwise.shape));
  const mid = b.node('Conv', [inputs[0], dw], [...spatialAttributes(layer, inputSize(ctx)), int('group', cin)]);
  const cout = pointwise.shape[3];
  const pw = b.constant(`${layer.name}_PW`, [cout, cin * mult, 1, 1], convWeight(pointwise.data, pointwise.shape));
  const conv = b.node('Conv', bias ? [mid, pw, b.constant(`${layer.name}_B`, [cout], bias.data)] : [mid, pw], [
    ints('kernel_shape', [1, 1]),
  ]);
  return activation(b, layer.config.activation, conv, rankOf(shapes), dataFormat);
};

const pooling =
  (opType: 'MaxPool' | 'AveragePool'): Translate =>
  (ctx) =>
    ctx.b.node(opType, [ctx.inputs[0]], spatialAttributes(ctx.layer, inputSize(ctx)));

const globalPooling =
  (opType: 'GlobalMaxPool' | 'GlobalAveragePool'): Translate =>
  ({ b, layer, inputs }) => {
    const pooled = b.node(opType, [inputs[0]]);
    return layer.config.keepdims ? pooled : b.node('Flatten', [pooled], [int('axis', 1)]);
  };

const dense: Translate = ({ b, layer, weights, inputs, shapes, dataFormat }) => {
  if (shapes.inputShapes[0]?.length !== 2) throw new UntranslatableError('Dense on a tensor of rank other than 2');
  const [kernel, bias] = weights;
  const w = b.constant(`${layer.name}_W`, kernel.shape, kernel.data);
  const gemm = b.node(
    'Gemm',
    bias ? [inputs[0], w, b.constant(`${layer.name}_B`, bias.shape, bias.data)] : [inputs[0], w],
  );
  return activation(b, layer.config.activation, gemm, 2, dataFormat);
};

const flatten: Translate = ({ b, layer, inputs, shapes, dataFormat }) => {
  // Keras flattens in (H, W, C) order for channels_last tensors, and a channels_first Flatten
  // permutes to that order first; only a channels_first tensor under a default Flatten keeps (C, H, W).
  const flattenFormat = layer.config.data_format ?? 'channels_last';
  const hwcOrder =
    shapes.inputShapes[0]?.length === 4 && (dataFormat === 'channels_last' || flattenFormat === 'channels_first');
  const source = hwcOrder ? b.node('Transpose', [inputs[0]], [ints('perm', NCHW_TO_NHWC)]) : inputs[0];
  return b.node('Flatten', [source], [int('axis', 1)]);
};

const batchNorm: Translate = ({ b, layer, weights, inputs, shapes, dataFormat }) => {
  const rank = shapes.inputShapes[0].length;
  const axis = onnxAxis(
    Array.isArray(layer.config.axis) ? layer.config.axis[0] : (layer.config.axis ?? -1),
    rank,
    dataFormat,
  );
  if (axis !== 1) throw new UntranslatableError('BatchNormalization over a non-channel axis');
  // Keras stores gamma and beta only when `scale` and `center` are on.
  const names = [
    ...(layer.config.scale !== false ? ['gamma'] : []),
    ...(layer.config.center !== false ? ['beta'] : []),
    'moving_mean',
    'moving_variance',
  ];
  const byName = new Map(names.map((name, i) => [name, weights[i]]));
  const n = byName.get('moving_mean')!.shape[0];
  const get = (name: string, fill: number) =>
    b.constant(`${layer.name}_${name}`, [n], byName.get(name)?.data ?? new Float32Array(n).fill(fill));
  const attributes = [float('epsilon', layer.config.epsilon ?? 1e-3)];
  return b.node(
    'BatchNormalization',
    [inputs[0], get('gamma', 1), get('beta', 0), get('moving_mean', 0), get('moving_variance', 1)],
    attributes,
  );
};

const zeroPadding: Translate = ({ b, layer, inputs }) => {
  const [[top, bottom], [left, right]] = paddingPairs(layer.config.padding ?? 1);
  return b.node('Pad', [inputs[0], b.int64s('pads', [0, 0, top, left, 0, 0, bottom, right])]);
};

const elementwise =
  (opType: string): Translate =>
  ({ b, inputs }) =>
    inputs.slice(1).reduce((acc, x) => b.node(opType, [acc, x]), inputs[0]);

const average: Translate = ({ b, inputs }) => b.node('Mean', inputs);

const concatenate: Translate = ({ b, layer, inputs, shapes, dataFormat }) =>
  b.node('Concat', inputs, [int('axis', onnxAxis(layer.config.axis ?? -1, shapes.inputShapes[0].length, dataFormat))]);

const identity: Translate = ({ b, inputs }) => b.node('Identity', [inputs[0]]);

const activationLayer: Translate = ({ b, layer, inputs, shapes, dataFormat }) => {
  switch (layer.className) {
    case 'Activation':
      return activation(b, layer.config.activation, inputs[0], rankOf(shapes), dataFormat);
    case 'ReLU': {
      const { max_value: max, negative_slope: slope = 0, threshold = 0 } = layer.config;
      if (slope || threshold) throw new UntranslatableError('ReLU with a slope or threshold');
      if (max === null || max === undefined) return b.node('Relu', [inputs[0]]);
      return b.clip(inputs[0], 0, max);
    }
    case 'LeakyReLU':
      return b.node(
        'LeakyRelu',
        [inputs[0]],
        [float('alpha', layer.config.alpha ?? layer.config.negative_slope ?? 0.3)],
      );
    case 'ELU':
      return b.node('Elu', [inputs[0]], [float('alpha', layer.config.alpha ?? 1)]);
    case 'Softmax':
      return b.node(
        'Softmax',
        [inputs[0]],
        [int('axis', onnxAxis(layer.config.axis ?? -1, rankOf(shapes), dataFormat))],
      );
    default:
      throw new UntranslatableError(layer.className);
  }
};

const TRANSLATORS: Record<string, Translate> = {
  Conv2D: conv2d,
  DepthwiseConv2D: depthwiseConv2d,
  SeparableConv2D: separableConv2d,
  MaxPooling2D: pooling('MaxPool'),
  AveragePooling2D: pooling('AveragePool'),
  GlobalMaxPooling2D: globalPooling('GlobalMaxPool'),
  GlobalAveragePooling2D: globalPooling('GlobalAveragePool'),
  Dense: dense,
  Flatten: flatten,
  BatchNormalization: batchNorm,
  ZeroPadding2D: zeroPadding,
  Add: elementwise('Add'),
  Subtract: elementwise('Sub'),
  Multiply: elementwise('Mul'),
  Maximum: elementwise('Max'),
  Minimum: elementwise('Min'),
  Average: average,
  Concatenate: concatenate,
  Dropout: identity,
  GaussianNoise: identity,
  GaussianDropout: identity,
  AlphaDropout: identity,
  Activation: activationLayer,
  ReLU: activationLayer,
  LeakyReLU: activationLayer,
  ELU: activationLayer,
  Softmax: activationLayer,
};

export interface OnnxTranslation {
  model: Uint8Array;
  /** The graph's input: always channels-last (N, H, W, C). */
  inputName: string;
  /** One per requested layer, in the order asked, each channels-last. */
  outputNames: string[];
}

/**
 * Translates the layers needed for `outputs`. Throws UntranslatableError naming the first
 * layer or option that ONNX translation does not cover.
 */
export function translateToOnnx(
  graph: ModelGraph,
  shapes: LayerShapes[],
  weights: LayerWeights,
  outputs: string[],
): OnnxTranslation {
  const b = new GraphBuilder();
  const byName = new Map(shapes.map((s) => [s.layer.name, s]));
  const needed = new Set<string>();
  const visit = (name: string): void => {
    if (needed.has(name)) return;
    needed.add(name);
    byName.get(name)?.layer.inbound.forEach(visit);
  };
  outputs.forEach(visit);

  const tensor = new Map<string, string>();
  let inputShape: (number | null)[] | undefined;
  for (const s of shapes) {
    const { layer } = s;
    if (!needed.has(layer.name)) continue;
    const declaredInput = layer.className === 'InputLayer' || layer.inbound.length === 0;
    if (declaredInput) {
      if (inputShape) throw new UntranslatableError('a model with several inputs');
      inputShape = layer.className === 'InputLayer' ? s.outputShape : s.inputShapes[0];
      if (inputShape?.length !== 4) throw new UntranslatableError('a non-image input');
      const nchw = b.node('Transpose', [onnxInput], [ints('perm', NHWC_TO_NCHW)]);
      if (layer.className === 'InputLayer') {
        tensor.set(layer.name, nchw);
        continue;
      }
      tensor.set('', nchw);
    }
    const translate = TRANSLATORS[layer.className];
    if (!translate) throw new UntranslatableError(`layer '${layer.name}' (${layer.className})`);
    if (!s.outputShape) throw new UntranslatableError(`layer '${layer.name}' of unknown shape`);
    if (s.outputShape.length === 4 && graph.dataFormat !== (layer.config.data_format ?? graph.dataFormat)) {
      throw new UntranslatableError(`layer '${layer.name}' in a data format other than the model's`);
    }
    const inputs = layer.inbound.length === 0 ? [tensor.get('')!] : layer.inbound.map((n) => tensor.get(n)!);
    const layerWeights = weights.get(layer.name) ?? [];
    if ((s.weights?.length ?? 0) !== layerWeights.length)
      throw new UntranslatableError(`layer '${layer.name}' without its weights`);
    tensor.set(
      layer.name,
      translate({ b, layer, shapes: s, weights: layerWeights, inputs, dataFormat: graph.dataFormat }),
    );
  }
  if (!inputShape) throw new UntranslatableError('a model without an input layer');

  const outputNames = onnxOutputs(outputs).map((outputName, i) => {
    const name = outputs[i];
    const rank = byName.get(name)!.outputShape!.length;
    return b.node(
      rank === 4 ? 'Transpose' : 'Identity',
      [tensor.get(name)!],
      rank === 4 ? [ints('perm', NCHW_TO_NHWC)] : [],
      outputName,
    );
  });
  const model = encodeTranslation(graph.name, b, mapDims(inputShape, graph.dataFormat)!, outputNames);
  return { model, inputName: onnxInput, outputNames };
}
