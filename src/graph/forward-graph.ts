/**
 * A model's forward pass as the gradient builder takes it: the decoded ONNX graph, its input, and
 * the tensor (with its layout) that holds each requested layer's output.
 */
import type { Dim, Shape } from '../net/net.js';
import { decodeModel, type ModelProto } from './proto.js';
import { inferTensorShapes } from './shapes.js';

export type TensorLayout = 'nhwc' | 'nchw' | 'flat';

/** Where a tensor keeps a map of (h, w, c): channels last or first; 'flat' when it is not that map. */
export function layoutOf(shape: Shape | undefined, map: [Dim, Dim, Dim] | undefined): TensorLayout {
  if (!shape || shape.length !== 4 || !map) return 'flat';
  const [h, w, c] = map;
  if (shape[1] === h && shape[2] === w && shape[3] === c) return 'nhwc';
  if (shape[1] === c && shape[2] === h && shape[3] === w) return 'nchw';
  return 'flat';
}

/**
 * A translation (channels-last input named `input`) as a forward graph: each requested layer's
 * tensor is the one its output is named or transposed from, since only that tensor lies on the
 * paths a gradient follows.
 */
export function translatedGraph(
  bytes: Uint8Array,
  input: { name: string; shape: Shape },
  outputs: string[],
  maps: Array<[Dim, Dim, Dim] | undefined>,
): {
  model: ModelProto;
  input: { name: string; shape: Shape; layout: 'nhwc' };
  tensors: Array<{ name: string; layout: TensorLayout }>;
} {
  const model = decodeModel('translation', bytes);
  const shapes = inferTensorShapes(model.graph, input);
  // Back through the nodes that only name or lay out the output (Identity, Transpose) to the
  // tensor the network computes on: the output itself is a leaf no gradient flows through.
  const producer = (t: string) => model.graph.node.find((n) => n.output[0] === t);
  const tensors = outputs.map((output, i) => {
    let name = output;
    for (
      let node = producer(name);
      node && (node.opType === 'Identity' || node.opType === 'Transpose');
      node = producer(name)
    )
      name = node.input[0];
    return { name, layout: layoutOf(shapes.get(name), maps[i]) };
  });
  return { model, input: { ...input, layout: 'nhwc' }, tensors };
}
