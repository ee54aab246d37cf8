/**
 * TensorFlow.js weight shards as tfjs-converter writes them: float32 values, or quantized
 * (`--quantize_uint8`, `--quantize_uint16`: value = q * scale + min; `--quantize_float16`:
 * IEEE halves), all turned into float32 exactly as tf.io.decodeWeights does.
 */
import { runtimeError } from '../errors.js';
import type { WeightArray } from './h5.js';

export interface WeightSpec {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype: string; min?: number; scale?: number };
}

/** Bytes per stored element. */
function storedWidth(spec: WeightSpec, source: string): number {
  if (spec.quantization) {
    const width = { uint8: 1, uint16: 2, float16: 2 }[spec.quantization.dtype];
    if (!width) throw runtimeError(`${source}: weight '${spec.name}' is quantized as '${spec.quantization.dtype}', which tfjs does not define (uint8, uint16, float16)`);
    return width;
  }
  // int32: the integer constants of graph models (axes, shapes, paddings).
  if (spec.dtype !== 'float32' && spec.dtype !== 'int32') throw runtimeError(`${source}: weight '${spec.name}' is ${spec.dtype}; cnnviz reads float32 and int32 values`);
  return 4;
}

/** IEEE 754 half to float, every value exact (subnormals, infinities, NaN). */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 31) return fraction ? NaN : sign * Infinity;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

/** One weight's values from its stored bytes (a copy: shard offsets need not be aligned). */
function decodeOne(spec: WeightSpec, bytes: Uint8Array): Float32Array {
  const count = spec.shape.reduce((a, b) => a * b, 1);
  const copy = new Uint8Array(bytes); // aligned
  const q = spec.quantization;
  if (!q) return spec.dtype === 'int32' ? Float32Array.from(new Int32Array(copy.buffer, 0, count)) : new Float32Array(copy.buffer, 0, count);
  if (q.dtype === 'float16') return Float32Array.from(new Uint16Array(copy.buffer, 0, count), halfToFloat);
  const stored = q.dtype === 'uint8' ? copy : new Uint16Array(copy.buffer, 0, count);
  const [scale, min] = [q.scale ?? 1, q.min ?? 0];
  return Float32Array.from(stored, (v) => v * scale + min);
}

/** Every weight of a manifest group from its shards joined, in manifest order. */
export function decodeTfjsWeights(buffer: Uint8Array, specs: WeightSpec[], source: string): WeightArray[] {
  let offset = 0;
  return specs.map((spec) => {
    const length = spec.shape.reduce((a, b) => a * b, 1) * storedWidth(spec, source);
    if (offset + length > buffer.length) {
      throw runtimeError(`${source}: the weight shards hold ${buffer.length} bytes, but the manifest declares more (weight '${spec.name}' ends at byte ${offset + length})`);
    }
    const data = decodeOne(spec, buffer.subarray(offset, offset + length));
    offset += length;
    return { name: spec.name, shape: spec.shape, data };
  });
}
