/**
 * The formats cnnviz reads, one entry each: how a file of the format is recognised, by its
 * content first (the ONNX protobuf's first fields, the HDF5 signature, a zip holding
 * config.json, JSON naming its format) and by its extension second, as mature viewers do. A
 * renamed file still opens; a file of no known format gets one line saying what it looks like.
 * Adding a format is adding an entry.
 */
import { open } from 'node:fs/promises';
import { extname } from 'node:path';
import { usageError } from '../errors.js';
import type { Model, OpenOptions } from './types.js';

/** What is read of a file to recognise it: its first and last bytes, and its JSON if it is JSON. */
export interface FileHead {
  size: number;
  first: Buffer;
  last: Buffer;
  /** The parsed file, when it starts like JSON and parses (model.json files are small). */
  json?: unknown;
  /** Why a file that starts like JSON does not parse. */
  jsonProblem?: string;
}

export interface Format {
  name: string;
  /** What a file of the format is, in a few words, for messages. */
  what: string;
  extensions: string[];
  /** Its weights are read with HDF5 (whose wasm compiles ahead, while the model opens). */
  hdf5Weights?: boolean;
  /** True when the content is this format's, whatever the file is called. */
  recognise(head: FileHead): boolean;
  open(path: string, options: OpenOptions, head: FileHead): Promise<Model>;
}

const HEAD_BYTES = 64 * 1024;
/** JSON files are read whole to recognise them only up to this size (graph models' model.json are a few MB). */
const MAX_JSON_BYTES = 256 * 2 ** 20;

const HDF5_SIGNATURE = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);
const startsWith = (bytes: Buffer, signature: number[] | Buffer, at = 0): boolean =>
  bytes.length >= at + signature.length && [...signature].every((b, i) => bytes[at + i] === b);

/** HDF5 puts its signature at 0, 512, 1024, 2048 ... (a user block may come first). */
const isHdf5 = ({ first }: FileHead): boolean =>
  [0, 512, 1024, 2048, 4096, 8192, 16384, 32768].some((at) => startsWith(first, HDF5_SIGNATURE, at));

const isZip = ({ first }: FileHead): boolean => startsWith(first, [0x50, 0x4b, 0x03, 0x04]);

/**
 * An ONNX ModelProto as exporters write it: field 1 (ir_version, a small varint) first, then
 * another of ModelProto's fields (producer, domain, version, doc, graph, opset_import, metadata).
 */
function isOnnx({ first }: FileHead): boolean {
  if (first.length < 3 || first[0] !== 0x08 || first[1] === 0 || first[1] > 0x20) return false;
  return [0x12, 0x1a, 0x22, 0x28, 0x32, 0x3a, 0x42, 0x72].includes(first[2]);
}

const topologyOf = (json: unknown): Record<string, unknown> | undefined => {
  const topology = (json as { modelTopology?: unknown } | null)?.modelTopology;
  return topology && typeof topology === 'object' ? (topology as Record<string, unknown>) : undefined;
};
const isGraphModel = ({ json }: FileHead): boolean =>
  (json as { format?: unknown } | null)?.format === 'graph-model' || Array.isArray(topologyOf(json)?.node);
const isLayersModel = (head: FileHead): boolean => topologyOf(head.json) !== undefined && !isGraphModel(head);

// Each adapter loads when its format is met: the ONNX one brings onnx-proto (about 25 ms), the
// Keras one TensorFlow.js layers; a model of one format never pays for the others.
export const FORMATS: Format[] = [
  {
    name: 'onnx',
    what: 'an ONNX model',
    extensions: ['.onnx'],
    recognise: isOnnx,
    open: async (path, options) => (await import('./onnx/model.js')).openOnnxModel(path, options),
  },
  {
    name: 'keras-h5',
    what: 'a Keras HDF5 model (model.save("m.h5"))',
    extensions: ['.h5', '.hdf5'],
    recognise: isHdf5,
    hdf5Weights: true,
    open: async (path, options) => (await import('./keras/model.js')).openKerasModel(path, options, 'keras-h5'),
  },
  {
    name: 'keras-archive',
    what: 'a Keras 3 archive (.keras)',
    extensions: ['.keras'],
    // A zip alone could be anything: a Keras archive lists config.json in its central directory.
    recognise: (head) => isZip(head) && head.last.includes('config.json'),
    hdf5Weights: true,
    open: async (path, options) => (await import('./keras/model.js')).openKerasModel(path, options, 'keras-archive'),
  },
  {
    name: 'tfjs-layers',
    what: 'a TensorFlow.js layers model',
    extensions: ['.json'],
    recognise: isLayersModel,
    open: async (path, options) => (await import('./keras/model.js')).openKerasModel(path, options, 'tfjs-layers'),
  },
  {
    name: 'tfjs-graph',
    what: 'a TensorFlow.js graph model',
    // A model.json that is neither (damaged) goes to the layers reader, listed first.
    extensions: ['.json'],
    recognise: isGraphModel,
    open: async (path, options, head) =>
      (await import('./tfjs-graph/model.js')).openGraphModel(path, head.json, options),
  },
];

export const MODEL_FILE_KINDS = '.json (TensorFlow.js), .h5 (Keras model.save), .keras (Keras 3), .onnx';

/** The first and last bytes of a file, and its JSON when it starts like JSON. */
export async function readHead(path: string): Promise<FileHead> {
  const handle = await open(path, 'r').catch(() => {
    throw usageError(`model file '${path}' cannot be read`);
  });
  try {
    const { size } = await handle.stat();
    const read = async (position: number, length: number) => {
      const buffer = Buffer.alloc(Math.max(0, Math.min(length, size - position)));
      await handle.read(buffer, 0, buffer.length, position);
      return buffer;
    };
    const first = await read(0, HEAD_BYTES);
    const last = size > HEAD_BYTES ? await read(size - HEAD_BYTES, HEAD_BYTES) : first;
    const head: FileHead = { size, first, last };
    if (/^\s*\{/.test(first.subarray(0, 64).toString('latin1')) && size <= MAX_JSON_BYTES) {
      const text = size > first.length ? await read(0, size) : first;
      try {
        head.json = JSON.parse(text.toString('utf8'));
      } catch {
        // Said without the parser's message, which quotes the file's text.
        head.jsonProblem = 'it does not parse as JSON';
      }
    }
    return head;
  } finally {
    await handle.close();
  }
}

/** What a file of another kind is, when its first bytes say so; undefined when they do not. */
function otherKind(head: FileHead): string | undefined {
  const { first } = head;
  if (head.size === 0) return 'an empty file';
  if (startsWith(first, [0x89, 0x50, 0x4e, 0x47])) return 'a PNG image';
  if (startsWith(first, [0xff, 0xd8, 0xff])) return 'a JPEG image';
  if (startsWith(first, [0x47, 0x49, 0x46, 0x38])) return 'a GIF image';
  if (startsWith(first, [0x25, 0x50, 0x44, 0x46])) return 'a PDF document';
  if (startsWith(first, [0x1f, 0x8b])) return 'a gzip archive';
  if (isZip(head)) return 'a zip archive without config.json (not a Keras 3 archive)';
  if (head.json !== undefined) return 'JSON that is no TensorFlow.js model (no modelTopology)';
  return undefined;
}

/** What a file no format recognises looks like, for the one line that refuses it. */
export function looksLike(head: FileHead): string {
  const known = otherKind(head);
  if (known) return known;
  if (head.jsonProblem) return `JSON that does not parse`;
  const sample = head.first.subarray(0, 512);
  const text = sample.every((b) => b === 0x09 || b === 0x0a || b === 0x0d || (b >= 0x20 && b !== 0x7f) || b >= 0x80);
  return text ? 'a text file' : 'binary data of no format cnnviz knows';
}

/**
 * The format of a file: by its content; else, when the content is of no other known kind, by
 * its extension (a truncated .onnx, say, whose reader then says what is wrong); else one line
 * naming what the file looks like.
 */
export function formatOf(path: string, head: FileHead): { format: Format; byContent: boolean } {
  const byContent = FORMATS.find((f) => f.recognise(head));
  if (byContent) return { format: byContent, byContent: true };
  const ext = extname(path).toLowerCase();
  const byName = otherKind(head) ? undefined : FORMATS.find((f) => f.extensions.includes(ext));
  if (byName) return { format: byName, byContent: false };
  throw usageError(`'${path}' looks like ${looksLike(head)}, not a model cnnviz reads (${MODEL_FILE_KINDS})`);
}
