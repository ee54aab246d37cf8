/**
 * ONNX external data: tensors whose bytes lie in files beside the model, read only from inside
 * the model's folder and only as far as they go.
 */
import { readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileSystemReason, usageError } from '../../errors.js';
import { fileInside } from '../../folders.js';
import { onnx, type GraphProto, type TensorProto } from '../../graph/proto.js';

const isExternal = (t: TensorProto): boolean => t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL;
const externalEntry = (t: TensorProto, key: string): string | undefined =>
  t.externalData.find((e) => e.key === key)?.value ?? undefined;

/** Where one tensor's bytes lie in an external data file, checked: inside the model's folder, a file, in range. */
interface ExternalSpan {
  file: string;
  offset: number;
  length: number | undefined;
}

/** A non-negative whole number written in decimal, as the ONNX spec has offset and length. */
const byteCount = (value: string | undefined): number | undefined =>
  value !== undefined && /^\d{1,15}$/.test(value) ? Number(value) : undefined;

function externalSpan(path: string, tensor: TensorProto): ExternalSpan {
  const location = externalEntry(tensor, 'location') ?? '';
  const what = `'${path}' keeps tensor '${tensor.name}' in '${location}'`;
  const file = location ? fileInside(dirname(path), location) : undefined;
  if (!file)
    throw usageError(
      `${what}, which is outside the model's folder; refused (external data must lie beside the model or below it)`,
    );
  const [offsetText, lengthText] = [externalEntry(tensor, 'offset'), externalEntry(tensor, 'length')];
  const offset = offsetText === undefined ? 0 : byteCount(offsetText);
  const length = lengthText === undefined ? undefined : byteCount(lengthText);
  if (offset === undefined) throw usageError(`${what} at offset '${offsetText}', which is not a byte count`);
  if (lengthText !== undefined && length === undefined)
    throw usageError(`${what} with length '${lengthText}', which is not a byte count`);
  return { file, offset, length };
}

/** The external data files a model names: each inside its folder, a file, long enough. */
export function checkExternalData(path: string, graph: GraphProto): void {
  const sizes = new Map<string, number>();
  for (const tensor of graph.initializer) {
    if (!isExternal(tensor)) continue;
    const { file, offset, length } = externalSpan(path, tensor);
    if (!sizes.has(file)) sizes.set(file, externalFileSize(path, file));
    const size = sizes.get(file)!;
    const end = offset + (length ?? 0);
    if (offset > size || end > size)
      throw usageError(
        `'${file}' is shorter than '${path}' says (${size} bytes; tensor '${tensor.name}' ends at byte ${end})`,
      );
  }
}

function externalFileSize(path: string, file: string): number {
  let info;
  try {
    info = statSync(file);
  } catch (err) {
    throw usageError(`'${path}' keeps its weights in '${file}', which cannot be read (${fileSystemReason(err)})`);
  }
  if (!info.isFile()) throw usageError(`'${path}' keeps its weights in '${file}', which is not a file`);
  return info.size;
}

/**
 * Moves every external tensor's bytes into the model, so it can be handed to ONNX Runtime as
 * one buffer (the runtime resolves external files only for a model opened by path).
 */
export function inlineExternalData(path: string, graph: GraphProto): void {
  checkExternalData(path, graph);
  const files = new Map<string, Buffer>();
  for (const tensor of graph.initializer) {
    if (!isExternal(tensor)) continue;
    const { file, offset, length } = externalSpan(path, tensor);
    if (!files.has(file)) files.set(file, readFileSync(file));
    const bytes = files.get(file)!;
    tensor.rawData = bytes.subarray(offset, length === undefined ? bytes.length : offset + length);
    tensor.externalData = [];
    tensor.dataLocation = onnx.TensorProto.DataLocation.DEFAULT;
  }
}
