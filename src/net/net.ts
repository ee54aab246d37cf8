/**
 * The network as every command sees it, whatever file it came from: layers with their inputs,
 * output shapes and parameter counts, and for convolutions the kernel in one layout. Each
 * model format (src/formats/) produces one; nothing here knows Keras or ONNX.
 */
export type Dim = number | null;
export type Shape = Dim[];
export type DataFormat = 'channels_last' | 'channels_first';

/** (height, width, channels) of a feature map, the layout every engine returns. */
export type MapShape = [height: number, width: number, channels: number];

/** A convolution kernel as (kh, kw, in channels per group, out channels): a filter per out channel. */
export type KernelShape = [kh: number, kw: number, inChannels: number, outChannels: number];
export interface Kernel {
  shape: KernelShape;
  data: Float32Array;
}

/**
 * What a layer does, as far as stages and pictures care: `conv` computes features from a
 * kernel (its filters can be drawn), `pad` only pads or crops, `input` is the image itself,
 * `model` a nested model (its own layers follow it, one level deeper).
 */
export type LayerRole = 'input' | 'conv' | 'pad' | 'model' | 'other';

/**
 * How a layer's output pixels see its input's: a window (convolutions, pools), or a shift
 * (padding, cropping: a 1x1 window with pads). What receptive fields are computed from.
 */
export interface LayerWindow {
  kernel: [number, number];
  strides: [number, number];
  dilations: [number, number];
  /** 'same' (TensorFlow's and ONNX's SAME_UPPER: the odd pixel at the end), 'valid', or pixels [top, left, bottom, right] (negative: cropped). */
  padding: 'same' | 'valid' | [number, number, number, number];
}

/** A shift of the map: padding (positive) or cropping (negative) by [top, left, bottom, right]. */
export const shiftWindow = (padding: [number, number, number, number]): LayerWindow => ({
  kernel: [1, 1],
  strides: [1, 1],
  dilations: [1, 1],
  padding,
});

export interface NetLayer {
  /** What `--layer` takes besides the name (Keras' index, an ONNX node's position); null: not selectable. */
  index: number | null;
  /** 0 for the model's own layers, 1 for the layers of a nested model, ... */
  depth: number;
  name: string;
  /** The layer class or op type, as the format names it: Conv2D, MaxPooling2D, Conv, Relu. */
  type: string;
  role: LayerRole;
  /** Names of the layers whose outputs feed this one. */
  inputs: string[];
  /** True when the layer reads the image itself (formats that list no input layer: ONNX). */
  readsInput?: boolean;
  /** The output shape as the format writes it, batch first; undefined when unknown. */
  outputShape?: Shape;
  /** (h, w, c) of an image-like (4-d) output, whatever the format's layout. */
  mapShape?: [Dim, Dim, Dim];
  /** Parameters the layer holds; null when unknown. */
  params: number | null;
  /** The kernel's shape as the format stores it, for convolutions. */
  kernelShape?: number[];
  /** Other names a user may give for this layer's output (an ONNX output tensor's name). */
  aliases?: string[];
  /** Convolutions, pools, padding and cropping: how the output's pixels see the input's. */
  window?: LayerWindow;
}

export interface Net {
  name: string;
  /** Which adapter made it: 'keras', 'onnx'. */
  format: string;
  layers: NetLayer[];
  /** (h, w, c) of the input image; null where the model leaves it undefined. */
  input: [Dim, Dim, Dim];
  /** `quantized`: how many of the total are int8 or uint8 weights (a quantized ONNX model). */
  params: { total: number; trainable?: number; nonTrainable?: number; quantized?: number };
  /** Layers whose shape (Keras: also parameters) cnnviz could not work out. */
  unknown: string[];
  /** True when every layer feeds only the next one. */
  sequential: boolean;
}

/**
 * A depthwise kernel (kh, kw, in, multiplier), as Keras and TensorFlow store it, in the core's
 * layout: one input channel per filter, (kh, kw, 1, in * multiplier), filter c * m + k seeing
 * channel c. The values need no moving: the flat order is the same.
 */
export function depthwiseKernel([kh, kw, cin, mult]: number[], data: Float32Array): Kernel {
  return { shape: [kh, kw, 1, cin * mult], data };
}

/** (h, w, c) of a 4-d shape in the given layout; undefined for any other rank. */
export function mapDims(shape: Shape | undefined, dataFormat: DataFormat): [Dim, Dim, Dim] | undefined {
  if (shape?.length !== 4) return undefined;
  return dataFormat === 'channels_first' ? [shape[2], shape[3], shape[1]] : [shape[1], shape[2], shape[3]];
}

/** Layers with an image-like output, the input itself left out: what feature maps are drawn from. */
export function isSpatial(layer: NetLayer): boolean {
  return layer.mapShape !== undefined && layer.role !== 'input' && layer.index !== null;
}

/** Layers whose kernels can be drawn. */
export function isConvolution(layer: NetLayer): boolean {
  return layer.role === 'conv' && layer.index !== null;
}

/** True when every layer feeds exactly the one before it. */
export function isChain(layers: Array<Pick<NetLayer, 'name' | 'inputs'>>): boolean {
  return layers.every((l, i) =>
    i === 0 ? l.inputs.length === 0 : l.inputs.length === 1 && l.inputs[0] === layers[i - 1].name,
  );
}

/**
 * A cycle among the layers (each feeding the next, the last the first), or undefined: a file
 * whose nodes feed each other in a ring is no network (ONNX and TensorFlow graphs must be
 * acyclic outside their control-flow ops), and everything after would fail obscurely.
 */
export function findCycle(layers: Array<Pick<NetLayer, 'name' | 'inputs'>>): string[] | undefined {
  const inputsOf = new Map(layers.map((l) => [l.name, l.inputs]));
  const order = new Map(layers.map((l, i) => [l.name, i]));
  const state = new Map<string, 'open' | 'done'>();
  for (const { name: start } of layers) {
    if (state.has(start)) continue;
    // Depth first, without recursion (graphs of thousands of nodes): the path is the stack.
    const path: string[] = [start];
    const next: number[] = [0];
    state.set(start, 'open');
    while (path.length) {
      const node = path[path.length - 1];
      const inputs = (inputsOf.get(node) ?? []).filter((i) => inputsOf.has(i));
      const k = next[next.length - 1]++;
      if (k >= inputs.length) {
        state.set(node, 'done');
        path.pop();
        next.pop();
        continue;
      }
      const input = inputs[k];
      if (state.get(input) === 'open') {
        // The path runs against the flow (from a layer to its inputs): reversed, it is the ring as data flows.
        // Told from the layer that comes first in the file, so the same file always reads the same.
        const ring = path.slice(path.indexOf(input)).reverse();
        const first = ring.indexOf(ring.reduce((a, b) => (order.get(a)! <= order.get(b)! ? a : b)));
        const rotated = [...ring.slice(first), ...ring.slice(0, first)];
        return [...rotated, rotated[0]];
      }
      if (!state.has(input)) {
        state.set(input, 'open');
        path.push(input);
        next.push(0);
      }
    }
  }
  return undefined;
}

export function formatShape(shape: Shape | undefined, none = 'None'): string {
  if (!shape) return '?';
  const dims = shape.map((d) => (d === null ? none : String(d)));
  return `(${dims.join(', ')}${dims.length === 1 ? ',' : ''})`;
}
