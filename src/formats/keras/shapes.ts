/**
 * Output shapes and weight shapes of Keras layers, from their configs alone: what
 * `model.summary()` prints, computed without building (and so without allocating) a model.
 * One rule per layer class, in a table; a class not in it is shown with '?'.
 */
import { mapDims, shiftWindow, type DataFormat, type LayerWindow } from '../../net/net.js';
import { sameOutputLength, windowOutputLength } from '../../net/geometry.js';
import { graphFromKerasConfig, type LayerNode, type ModelGraph, type Shape } from './graph.js';
import type { Json } from '../json.js';
import { messageOf } from '../../errors.js';

export interface WeightSpec {
  /** Keras' short name: kernel, bias, gamma, moving_mean, ... */
  name: string;
  shape: number[];
  trainable: boolean;
}

export interface LayerShapes {
  layer: LayerNode;
  inputShapes: Shape[];
  /** Undefined when the class is unknown to cnnviz. */
  outputShape?: Shape;
  weights?: WeightSpec[];
  /** The layers of a nested model, for the summary. */
  inner?: LayerShapes[];
  /** Why the rule of a known class gave no shape (an undefined dimension it needs, a config it does not read). */
  problem?: string;
}

export const NESTED_MODELS = new Set(['Functional', 'Sequential', 'Model']);

type Rule = (inputs: Shape[], config: Record<string, Json>) => { output: Shape; weights?: WeightSpec[] };

/** A Keras size option (kernel_size, strides, pool_size, dilation_rate): one number or a pair. */
export const pair = (v: number | number[] | undefined | null, fallback: number): [number, number] =>
  v === undefined || v === null ? [fallback, fallback] : Array.isArray(v) ? [v[0], v[1] ?? v[0]] : [v, v];

export const layerDataFormat = (config: Record<string, Json>): DataFormat =>
  config.data_format === 'channels_first' ? 'channels_first' : 'channels_last';

/** (h, w, c) of a layer's 4-d input, by the layer's own data format. */
function spatial(shape: Shape, config: Record<string, Json>): { h: number | null; w: number | null; c: number | null } {
  const [h, w, c] = mapDims(shape, layerDataFormat(config)) ?? [null, null, null];
  return { h, w, c };
}
function image(
  batch: number | null,
  h: number | null,
  w: number | null,
  c: number | null,
  config: Record<string, Json>,
): Shape {
  return layerDataFormat(config) === 'channels_first' ? [batch, c, h, w] : [batch, h, w, c];
}

/** The length of a convolution or pooling output along one axis, as Keras computes it. */
export function convOutputLength(
  length: number | null,
  kernel: number,
  stride: number,
  padding: string,
  dilation = 1,
): number | null {
  if (length === null) return null;
  return padding === 'same'
    ? sameOutputLength(length, stride)
    : windowOutputLength(length, kernel, stride, 0, dilation);
}

const known = (n: number | null, what: string): number => {
  if (n === null) throw new Error(`${what} must be known`);
  return n;
};

/** A conv or pool layer's output (height, width): its window, as kerasWindow reads it, over the input. */
function windowedSize(
  className: string,
  config: Record<string, Json>,
  h: number | null,
  w: number | null,
): [number | null, number | null] {
  const { kernel, strides, dilations, padding } = kerasWindow(className, config)!;
  return [
    convOutputLength(h, kernel[0], strides[0], padding as string, dilations[0]),
    convOutputLength(w, kernel[1], strides[1], padding as string, dilations[1]),
  ];
}

const conv: Rule = (inputs, config) => {
  const { h, w, c } = spatial(inputs[0], config);
  const [kh, kw] = pair(config.kernel_size, 1);
  const cin = known(c, 'the input channels of a convolution');
  const [oh, ow] = windowedSize('Conv2D', config, h, w);
  const weights: WeightSpec[] = [{ name: 'kernel', shape: [kh, kw, cin, config.filters], trainable: true }];
  if (config.use_bias !== false) weights.push({ name: 'bias', shape: [config.filters], trainable: true });
  return { output: image(inputs[0][0], oh, ow, config.filters, config), weights };
};

const depthwiseConv: Rule = (inputs, config) => {
  const { h, w, c } = spatial(inputs[0], config);
  const [kh, kw] = pair(config.kernel_size, 1);
  const cin = known(c, 'the input channels of a convolution');
  const multiplier = config.depth_multiplier ?? 1;
  const weights: WeightSpec[] = [{ name: 'depthwise_kernel', shape: [kh, kw, cin, multiplier], trainable: true }];
  if (config.use_bias !== false) weights.push({ name: 'bias', shape: [cin * multiplier], trainable: true });
  const [oh, ow] = windowedSize('DepthwiseConv2D', config, h, w);
  return { output: image(inputs[0][0], oh, ow, cin * multiplier, config), weights };
};

const separableConv: Rule = (inputs, config) => {
  const depthwise = depthwiseConv(inputs, { ...config, use_bias: false });
  const cmid = known(spatial(depthwise.output, config).c, 'channels');
  const weights: WeightSpec[] = [
    ...depthwise.weights!,
    { name: 'pointwise_kernel', shape: [1, 1, cmid, config.filters], trainable: true },
  ];
  if (config.use_bias !== false) weights.push({ name: 'bias', shape: [config.filters], trainable: true });
  const { h, w } = spatial(depthwise.output, config);
  return { output: image(inputs[0][0], h, w, config.filters, config), weights };
};

const pooling: Rule = (inputs, config) => {
  const { h, w, c } = spatial(inputs[0], config);
  const [oh, ow] = windowedSize('MaxPooling2D', config, h, w);
  return { output: image(inputs[0][0], oh, ow, c, config) };
};

const globalPooling: Rule = (inputs, config) => {
  const { c } = spatial(inputs[0], config);
  if (config.keepdims) return { output: image(inputs[0][0], 1, 1, c, config) };
  return { output: [inputs[0][0], c] };
};

const identity: Rule = (inputs) => ({ output: [...inputs[0]] });

const flatten: Rule = (inputs) => {
  const rest = inputs[0].slice(1);
  const size = rest.some((d) => d === null) ? null : (rest as number[]).reduce((a, b) => a * b, 1);
  return { output: [inputs[0][0], size] };
};

const dense: Rule = (inputs, config) => {
  const input = inputs[0];
  const cin = known(input[input.length - 1], 'the input size of a Dense layer');
  const weights: WeightSpec[] = [{ name: 'kernel', shape: [cin, config.units], trainable: true }];
  if (config.use_bias !== false) weights.push({ name: 'bias', shape: [config.units], trainable: true });
  return { output: [...input.slice(0, -1), config.units], weights };
};

const batchNorm: Rule = (inputs, config) => {
  const rank = inputs[0].length;
  const axisRaw = Array.isArray(config.axis) ? config.axis[0] : (config.axis ?? -1);
  const axis = axisRaw < 0 ? rank + axisRaw : axisRaw;
  const n = known(inputs[0][axis], 'the normalised axis of BatchNormalization');
  const weights: WeightSpec[] = [];
  if (config.scale !== false) weights.push({ name: 'gamma', shape: [n], trainable: true });
  if (config.center !== false) weights.push({ name: 'beta', shape: [n], trainable: true });
  weights.push(
    { name: 'moving_mean', shape: [n], trainable: false },
    { name: 'moving_variance', shape: [n], trainable: false },
  );
  return { output: [...inputs[0]], weights };
};

/** ZeroPadding2D's padding or Cropping2D's cropping (an int, a pair, or two pairs) as [[top, bottom], [left, right]]. */
export function paddingPairs(p: number | number[] | number[][]): [[number, number], [number, number]] {
  if (typeof p === 'number')
    return [
      [p, p],
      [p, p],
    ];
  if (typeof p[0] === 'number')
    return [
      [p[0] as number, p[0] as number],
      [p[1] as number, p[1] as number],
    ];
  return p as [[number, number], [number, number]];
}

const POOLS = new Set(['MaxPooling2D', 'AveragePooling2D']);

/** How a Keras layer's output pixels see its input (convolutions, pools, padding, cropping); undefined for the rest. */
export function kerasWindow(className: string, config: Record<string, Json>): LayerWindow | undefined {
  const padding = (config.padding ?? 'valid') === 'same' ? 'same' : 'valid';
  if (/^(Conv2D|DepthwiseConv2D|SeparableConv2D)$/.test(className)) {
    return {
      kernel: pair(config.kernel_size, 1),
      strides: pair(config.strides, 1),
      dilations: pair(config.dilation_rate, 1),
      padding,
    };
  }
  if (POOLS.has(className))
    return {
      kernel: pair(config.pool_size, 2),
      strides: pair(config.strides ?? config.pool_size, 2),
      dilations: [1, 1],
      padding,
    };
  if (className === 'ZeroPadding2D' || className === 'Cropping2D') {
    const sign = className === 'Cropping2D' ? -1 : 1;
    const [[top, bottom], [left, right]] = paddingPairs(
      className === 'Cropping2D' ? (config.cropping ?? 0) : (config.padding ?? 1),
    );
    return shiftWindow([sign * top, sign * left, sign * bottom, sign * right]);
  }
  return undefined;
}

const zeroPadding: Rule = (inputs, config) => {
  const [[top, bottom], [left, right]] = paddingPairs(config.padding ?? 1);
  const { h, w, c } = spatial(inputs[0], config);
  const add = (d: number | null, n: number): number | null => (d === null ? null : d + n);
  return { output: image(inputs[0][0], add(h, top + bottom), add(w, left + right), c, config) };
};

const cropping: Rule = (inputs, config) => {
  const [[top, bottom], [left, right]] = paddingPairs(config.cropping ?? 0);
  const { h, w, c } = spatial(inputs[0], config);
  const sub = (d: number | null, n: number): number | null => (d === null ? null : d - n);
  return { output: image(inputs[0][0], sub(h, top + bottom), sub(w, left + right), c, config) };
};

const concatenate: Rule = (inputs, config) => {
  const rank = inputs[0].length;
  const axis = (config.axis ?? -1) < 0 ? rank + (config.axis ?? -1) : config.axis;
  const output = [...inputs[0]];
  const dims = inputs.map((s) => s[axis]);
  output[axis] = dims.some((d) => d === null) ? null : (dims as number[]).reduce((a, b) => a + b, 0);
  return { output };
};

const reshape: Rule = (inputs, config) => ({ output: [inputs[0][0], ...config.target_shape] });

const RULES: Record<string, Rule> = {
  Conv2D: conv,
  DepthwiseConv2D: depthwiseConv,
  SeparableConv2D: separableConv,
  MaxPooling2D: pooling,
  AveragePooling2D: pooling,
  GlobalMaxPooling2D: globalPooling,
  GlobalAveragePooling2D: globalPooling,
  Flatten: flatten,
  Dense: dense,
  BatchNormalization: batchNorm,
  ZeroPadding2D: zeroPadding,
  Cropping2D: cropping,
  Concatenate: concatenate,
  Reshape: reshape,
  Activation: identity,
  ReLU: identity,
  LeakyReLU: identity,
  ELU: identity,
  Softmax: identity,
  Dropout: identity,
  GaussianNoise: identity,
  GaussianDropout: identity,
  Rescaling: identity,
  Add: identity,
  Subtract: identity,
  Multiply: identity,
  Average: identity,
  Maximum: identity,
  Minimum: identity,
};

/** The input shape a layer declares (InputLayer, or the first layer of a Sequential model). */
function declaredInputShape(config: Record<string, Json>): Shape | undefined {
  const shape = config.batch_input_shape ?? config.batch_shape;
  if (shape) return shape;
  if (config.input_shape) return [null, ...config.input_shape];
  return undefined;
}

/** Infers every layer's output and weight shapes, in model order. */
export function inferShapes(graph: ModelGraph): LayerShapes[] {
  const outputs = new Map<string, Shape | undefined>();
  return graph.layers.map((layer): LayerShapes => {
    if (layer.className === 'InputLayer') {
      const output = declaredInputShape(layer.config);
      outputs.set(layer.name, output);
      return { layer, inputShapes: [], outputShape: output, weights: [] };
    }
    if (NESTED_MODELS.has(layer.className)) {
      const inner = inferShapes(graphFromKerasConfig({ class_name: layer.className, config: layer.config }));
      const last = inner[inner.length - 1];
      const complete = inner.every((s) => s.weights);
      const result: LayerShapes = {
        layer,
        inputShapes: layer.inbound.map((name) => outputs.get(name)).filter((s): s is Shape => !!s),
        outputShape: last?.outputShape,
        weights: complete ? inner.flatMap((s) => s.weights!) : undefined,
        inner,
      };
      outputs.set(layer.name, result.outputShape);
      return result;
    }
    const declared = layer.inbound.length === 0 ? declaredInputShape(layer.config) : undefined;
    const inputShapes = declared ? [declared] : layer.inbound.map((name) => outputs.get(name));
    const rule = RULES[layer.className];
    let result: LayerShapes = { layer, inputShapes: inputShapes.filter((s): s is Shape => !!s) };
    if (rule && inputShapes.length > 0 && inputShapes.every((s) => s !== undefined)) {
      try {
        const { output, weights = [] } = rule(inputShapes as Shape[], layer.config);
        result = { ...result, outputShape: output, weights };
      } catch (err) {
        // Shown as '?', as Keras shows unknown shapes; the reason is said under --verbose.
        result = { ...result, problem: messageOf(err) };
      }
    }
    outputs.set(layer.name, result.outputShape);
    return result;
  });
}

export function countWeights(weights: WeightSpec[], which: 'all' | 'trainable' | 'non-trainable' = 'all'): number {
  return weights
    .filter((w) => which === 'all' || w.trainable === (which === 'trainable'))
    .reduce((sum, w) => sum + w.shape.reduce((a, b) => a * b, 1), 0);
}

/** The model's input shape (batch dimension included). */
export function modelInputShape(shapes: LayerShapes[]): Shape | undefined {
  const first = shapes[0];
  return first.layer.className === 'InputLayer' ? first.outputShape : first.inputShapes[0];
}

/** Layer classes are Keras' canonical names here: config.ts maps the aliases (Convolution2D, ...). */
export const isKerasConvolution = (layer: LayerNode): boolean =>
  /^(Conv2D|DepthwiseConv2D|SeparableConv2D)$/.test(layer.className);
