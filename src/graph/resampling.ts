/**
 * ONNX Resize along one axis as a matrix: output i = sum over j of R[i][j] * input j. Nearest
 * and linear resizing are linear in the input and separable by axis, so their gradient is R's
 * transpose applied along each resized axis. Coordinates as the ONNX operator defines them.
 */

export type ResizeMode = 'nearest' | 'linear';

export interface ResizeAxis {
  /** Input and output lengths along the axis. */
  from: number;
  to: number;
  /** The scale the coordinates use: the given one, or to / from when sizes are given. */
  scale: number;
  mode: ResizeMode;
  /** coordinate_transformation_mode. */
  coordinates: string;
  /** nearest_mode. */
  nearest: string;
}

/** Coordinate transformation modes whose source position follows from the output's. */
export const RESIZE_COORDINATES = [
  'half_pixel',
  'pytorch_half_pixel',
  'align_corners',
  'asymmetric',
  'tf_half_pixel_for_nn',
];
export const NEAREST_MODES = ['round_prefer_floor', 'round_prefer_ceil', 'floor', 'ceil'];

/** The position in the input that output index `i` samples. */
function sourcePosition(i: number, { from, to, scale, coordinates }: ResizeAxis): number {
  switch (coordinates) {
    case 'pytorch_half_pixel':
      return to > 1 ? (i + 0.5) / scale - 0.5 : 0;
    case 'align_corners':
      return to > 1 ? (i * (from - 1)) / (to - 1) : 0;
    case 'asymmetric':
      return i / scale;
    case 'tf_half_pixel_for_nn':
      return (i + 0.5) / scale;
    default:
      return (i + 0.5) / scale - 0.5; // half_pixel
  }
}

function roundNearest(x: number, mode: string): number {
  if (mode === 'floor') return Math.floor(x);
  if (mode === 'ceil') return Math.ceil(x);
  const isHalf = x - Math.floor(x) === 0.5;
  if (isHalf) return mode === 'round_prefer_ceil' ? Math.ceil(x) : Math.floor(x);
  return Math.round(x);
}

/** R as a (to, from) row-major matrix. */
export function resizeMatrix(axis: ResizeAxis): Float32Array {
  const { from, to } = axis;
  const r = new Float32Array(to * from);
  const clamp = (j: number) => Math.min(from - 1, Math.max(0, j));
  for (let i = 0; i < to; i++) {
    const x = sourcePosition(i, axis);
    if (axis.mode === 'nearest') {
      r[i * from + clamp(roundNearest(x, axis.nearest))] = 1;
      continue;
    }
    const at = Math.min(from - 1, Math.max(0, x));
    const j0 = Math.floor(at);
    const j1 = Math.min(j0 + 1, from - 1);
    const t = at - j0;
    r[i * from + j0] += 1 - t;
    r[i * from + j1] += t;
  }
  return r;
}
