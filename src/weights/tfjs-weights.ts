/**
 * TensorFlow.js weight shards as tfjs-converter writes them: float32 values, or quantized
 * (`--quantize_uint8`, `--quantize_uint16`: value = q * scale + min; `--quantize_float16`:
 * IEEE halves), all turned into float32 exactly as tf.io.decodeWeights does.
 */
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fileInside } from '../folders.js';
import { lazySchema, schemaProblem } from '../schema.js';
import { fileSystemReason, runtimeError, usageError } from '../errors.js';
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
    if (!width)
      throw runtimeError(
        `${source}: weight '${spec.name}' is quantized as '${spec.quantization.dtype}', which tfjs does not define (uint8, uint16, float16)`,
      );
    return width;
  }
  // int32: the integer constants of graph models (axes, shapes, paddings); bool: their flags
  // (a cond's pivot, a training switch), a byte each.
  if (spec.dtype === 'bool') return 1;
  if (spec.dtype !== 'float32' && spec.dtype !== 'int32')
    throw runtimeError(
      `${source}: weight '${spec.name}' is ${spec.dtype}; cnnviz reads float32, int32 and bool values`,
    );
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

/** One weight's values from its stored bytes: a view of the shard when aligned and unquantized, else a new array. */
function decodeOne(spec: WeightSpec, bytes: Uint8Array): Float32Array {
  const count = spec.shape.reduce((a, b) => a * b, 1);
  // Typed views need their element alignment: a copy only where the shard's layout breaks it.
  const aligned = bytes.byteOffset % 4 === 0 ? bytes : new Uint8Array(bytes);
  const q = spec.quantization;
  if (!q && spec.dtype === 'bool') return Float32Array.from(bytes.subarray(0, count), (v) => (v ? 1 : 0));
  if (!q)
    return spec.dtype === 'int32'
      ? Float32Array.from(new Int32Array(aligned.buffer, aligned.byteOffset, count))
      : new Float32Array(aligned.buffer, aligned.byteOffset, count);
  if (q.dtype === 'float16')
    return Float32Array.from(new Uint16Array(aligned.buffer, aligned.byteOffset, count), halfToFloat);
  const stored = q.dtype === 'uint8' ? aligned : new Uint16Array(aligned.buffer, aligned.byteOffset, count);
  const [scale, min] = [q.scale ?? 1, q.min ?? 0];
  return Float32Array.from(stored, (v) => v * scale + min);
}

/** Every weight of a manifest group from its shards joined, in manifest order. */
export function decodeTfjsWeights(buffer: Uint8Array, specs: WeightSpec[], source: string): WeightArray[] {
  let offset = 0;
  return specs.map((spec) => {
    const length = spec.shape.reduce((a, b) => a * b, 1) * storedWidth(spec, source);
    if (offset + length > buffer.length) {
      throw runtimeError(
        `${source}: the weight shards hold ${buffer.length} bytes, but the manifest declares more (weight '${spec.name}' ends at byte ${offset + length})`,
      );
    }
    const data = decodeOne(spec, buffer.subarray(offset, offset + length));
    offset += length;
    return { name: spec.name, shape: spec.shape, data };
  });
}

/**
 * A weight shard's file: beside model.json or below it, never elsewhere (a manifest naming
 * '../../etc/passwd', or a shard that is a link out of the folder, would otherwise have cnnviz
 * read another file as weights).
 */
export function shardPath(modelJson: string, shard: string): string {
  const file = typeof shard === 'string' ? fileInside(dirname(modelJson), shard) : undefined;
  if (!file)
    throw usageError(
      `'${modelJson}' names weight shard '${String(shard)}', which is outside the model's folder; refused`,
    );
  return file;
}

export interface ManifestGroup {
  paths: string[];
  weights: WeightSpec[];
}

/** The largest count of one weight's values: more than any array JavaScript can make is a damaged file. */
const MAX_ELEMENTS = 2 ** 31 - 1;

/** What a model.json's weightsManifest must be, whoever wrote it: dims are counts, names are text. */
const manifestSchema = lazySchema<ManifestGroup[]>((z) =>
  z.array(
    z.object({
      paths: z.array(z.string().min(1)),
      weights: z.array(
        z
          .object({
            name: z.string(),
            shape: z.array(z.number().int().nonnegative()),
            dtype: z.string(),
            quantization: z
              .object({ dtype: z.string(), min: z.number().optional(), scale: z.number().optional() })
              .optional(),
          })
          .refine((w) => w.shape.reduce((a, b) => a * b, 1) <= MAX_ELEMENTS, {
            message: 'more values than an array can hold',
            path: ['shape'],
          }),
      ),
    }),
  ),
);

/** A model.json's weightsManifest, checked; a damaged one is named in one line. */
export async function checkedManifest(modelJson: string, manifest: unknown): Promise<ManifestGroup[]> {
  if (manifest === undefined) return [];
  const parsed = (await manifestSchema()).safeParse(manifest);
  if (!parsed.success)
    throw usageError(`'${modelJson}' has a damaged weightsManifest (${schemaProblem(parsed.error)})`);
  return parsed.data;
}

/** Every shard file a (checked) manifest names, in order. */
export const manifestShards = (modelJson: string, manifest: ManifestGroup[]): string[] =>
  manifest.flatMap((group) => group.paths.map((p) => shardPath(modelJson, p)));

/** Every weight of a (checked) manifest, and each group's shards joined (tfjs takes those as they are). */
export async function readManifestWeights(
  modelJson: string,
  manifest: ManifestGroup[],
): Promise<{ weights: WeightArray[]; groups: Buffer[] }> {
  const weights: WeightArray[] = [];
  const groups: Buffer[] = [];
  for (const group of manifest) {
    const shards = await Promise.all(
      group.paths.map((p) =>
        readFile(shardPath(modelJson, p)).catch((err) => {
          throw runtimeError(`weight shard '${p}' of '${modelJson}' cannot be read (${fileSystemReason(err)})`);
        }),
      ),
    );
    const bytes = shards.length === 1 ? shards[0] : Buffer.concat(shards);
    groups.push(bytes);
    weights.push(...decodeTfjsWeights(bytes, group.weights, `'${modelJson}'`));
  }
  return { weights, groups };
}
