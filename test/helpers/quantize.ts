import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/**
 * Quantizing weights as tfjs-converter does (`--quantize_uint8`, `--quantize_uint16`,
 * `--quantize_float16`, its quantization.py): affine with the zero nudged to be exact, or IEEE
 * halves. For tests that make quantized models from float ones.
 */

/** Float to IEEE half, rounding to nearest even (numpy's astype(float16)). */
export function floatToHalf(value: number): number {
  const f32 = new Float32Array([value]);
  const x = new Uint32Array(f32.buffer)[0];
  const sign = (x >>> 16) & 0x8000;
  const exponent = (x >>> 23) & 0xff;
  let mantissa = x & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  const e = exponent - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mantissa |= 0x800000;
    const shift = 14 - e;
    const half = mantissa >>> shift;
    const rest = mantissa & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    return sign | (half + (rest > halfway || (rest === halfway && half & 1) ? 1 : 0));
  }
  const rest = mantissa & 0x1fff;
  let half = (e << 10) | (mantissa >>> 13);
  if (rest > 0x1000 || (rest === 0x1000 && half & 1)) half++;
  return sign | half;
}

export type QuantizeAs = 'uint8' | 'uint16' | 'float16';

/** The stored bytes and the manifest's quantization entry for one weight. */
export function quantize(
  data: Float32Array,
  as: QuantizeAs,
): { bytes: Uint8Array; quantization: { dtype: QuantizeAs; min?: number; scale?: number } } {
  if (as === 'float16')
    return { bytes: new Uint8Array(Uint16Array.from(data, floatToHalf).buffer), quantization: { dtype: 'float16' } };
  const quantMax = as === 'uint8' ? 255 : 65535;
  let [min, max] = [Math.min(...data), Math.max(...data)];
  const scale = (max - min) / quantMax || 1;
  if (min <= 0 && 0 <= max) {
    // Nudged so that 0.0 is exactly representable (zero padding stays zero).
    const quantizedMin = Math.trunc(0 - min / scale + 0.5);
    min = -quantizedMin * scale;
    max = quantMax * scale + min;
  }
  const q = Array.from(data, (v) =>
    Math.min(quantMax, Math.max(0, Math.round((Math.min(max, Math.max(min, v)) - min) / scale))),
  );
  const bytes = as === 'uint8' ? Uint8Array.from(q) : new Uint8Array(Uint16Array.from(q).buffer);
  return { bytes, quantization: { dtype: as, min, scale } };
}

/** A copy of a float32 model.json (one manifest group) with every weight quantized as the converter does. */
export function quantizeModelJson(modelJson: string, kind: QuantizeAs): string {
  const json = JSON.parse(readFileSync(modelJson, 'utf8'));
  const [group] = json.weightsManifest;
  const source = Buffer.concat(group.paths.map((p: string) => readFileSync(join(dirname(modelJson), p))));
  let offset = 0;
  const parts: Uint8Array[] = [];
  group.weights = group.weights.map((spec: { shape: number[] }) => {
    const count = spec.shape.reduce((x, y) => x * y, 1);
    const values = new Float32Array(
      source.buffer.slice(source.byteOffset + offset, source.byteOffset + offset + count * 4),
    );
    offset += count * 4;
    const q = quantize(values, kind);
    parts.push(q.bytes);
    return { ...spec, quantization: q.quantization };
  });
  const dir = mkdtempSync(join(tmpdir(), `cnnviz-q-${kind}-`));
  writeFileSync(join(dir, 'weights.bin'), Buffer.concat(parts));
  group.paths = ['weights.bin'];
  writeFileSync(join(dir, 'model.json'), JSON.stringify(json));
  return join(dir, 'model.json');
}
