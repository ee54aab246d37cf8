/**
 * Forward graphs changed for the class activation maps that need forward passes only: the same
 * network with other outputs (Score-CAM, Eigen-CAM), or with channels of one tensor replaced at
 * run time (Ablation-CAM). The forward model is copied, never changed.
 */
import type { GraphProto, ModelProto } from './proto.js';
import { encodeModel, floatOutput, onnx } from './proto.js';
import { GraphBuilder, valueInfo } from './build.js';

function copyGraph(model: ModelProto): GraphProto {
  return onnx.GraphProto.decode(onnx.GraphProto.encode(model.graph as never).finish()) as unknown as GraphProto;
}

function encodeWith(model: ModelProto, graph: GraphProto): Uint8Array {
  return encodeModel({ ...model, graph } as ModelProto);
}

/** The network computing `outputs` only. */
export function withOutputs(model: ModelProto, outputs: string[]): Uint8Array {
  const graph = copyGraph(model);
  graph.output = outputs.map(floatOutput);
  return encodeWith(model, graph);
}

/** The inputs an ablated model takes besides the image. */
export const keepName = (tensor: string): string => `${tensor}:keep`;
export const fillName = (tensor: string): string => `${tensor}:fill`;

/**
 * The network with `tensor` replaced by tensor * keep + fill * (1 - keep) before anything reads
 * it: `keep` (one value a channel, along `channelAxis` of a 4-d tensor) is 1 to keep a channel, 0
 * to put the scalar `fill` in its place. Outputs: `outputs`.
 */
export function withChannelAblation(
  model: ModelProto,
  tensor: string,
  channelAxis: 1 | 3,
  channels: number,
  outputs: string[],
): Uint8Array {
  const graph = copyGraph(model);
  const b = new GraphBuilder('ablation/');
  const [keep, fill] = [keepName(tensor), fillName(tensor)];
  const one = b.constant('one', [], Float32Array.of(1));
  const kept = b.node('Mul', [tensor, keep]);
  const filled = b.node('Mul', [fill, b.node('Sub', [one, keep])]);
  const ablated = b.node('Add', [kept, filled]);
  for (const node of graph.node) node.input = node.input.map((i) => (i === tensor ? ablated : i));
  // The new nodes read the tensor after its producer: put them right after it.
  const at = graph.node.findIndex((n) => n.output.includes(tensor)) + 1;
  graph.node.splice(at, 0, ...(b.nodes as never[]));
  graph.initializer.push(...(b.initializers as never[]));
  const dims = channelAxis === 1 ? ['N', channels, 1, 1] : ['N', 1, 1, channels];
  graph.input.push(valueInfo(keep, dims) as never, valueInfo(fill, []) as never);
  graph.output = outputs.map(floatOutput);
  return encodeWith(model, graph);
}
