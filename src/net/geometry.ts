/**
 * How convolutions and pooling change a map's size: the one formula behind Keras' 'valid' and
 * 'same' and ONNX's explicit pads, ceil_mode and auto_pad.
 */

/** Output length along one axis for a window of `kernel` (dilated), `stride`, and `pads` pixels added in all. */
export function windowOutputLength(
  length: number,
  kernel: number,
  stride: number,
  pads = 0,
  dilation = 1,
  ceil = false,
): number {
  const span = (kernel - 1) * dilation + 1;
  const steps = (length + pads - span) / stride;
  return (ceil ? Math.ceil(steps) : Math.floor(steps)) + 1;
}

/** 'same' padding (TensorFlow's, ONNX's SAME_UPPER): as many outputs as ceil(length / stride). */
export function sameOutputLength(length: number, stride: number): number {
  return Math.ceil(length / stride);
}

/** TensorFlow's 'same' padding along one axis: [begin, end], the odd pixel at the end. */
export function samePadding(length: number, kernel: number, stride: number, dilation: number): [number, number] {
  const out = sameOutputLength(length, stride);
  const total = Math.max((out - 1) * stride + (kernel - 1) * dilation + 1 - length, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}
