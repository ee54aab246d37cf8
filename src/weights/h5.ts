/**
 * Reads weights from Keras HDF5 files with h5wasm, in the layout Keras' legacy
 * `save_weights` (and `keras.applications`) writes:
 *   root attribute `layer_names` (split as layer_names0, layer_names1, ... when long),
 *   one group per layer with attribute `weight_names`,
 *   a dataset per weight at `<layer>/<weight name>` (nested when the name holds '/').
 * Full-model files (`model.save("m.h5")`) hold the same layout under `model_weights`.
 */
import type { LayerWeights, WeightArray } from './arrays.js';
import fs from 'node:fs';
import { open } from 'node:fs/promises';
import { CnnvizError, messageOf, runtimeError } from '../errors.js';

const HDF5_SIGNATURE = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * Checks the file before HDF5 sees it (HDF5 prints pages of diagnostics for a bad file): the
 * signature (at 0, or after a user block of 512, 1024, ... bytes), and the end-of-file address
 * the superblock records against the file's size, which tells a cut download.
 */
async function checkHdf5File(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    const probe = Buffer.alloc(8);
    let start = -1;
    for (let offset = 0; offset + 8 <= size; offset = offset === 0 ? 512 : offset * 2) {
      await handle.read(probe, 0, 8, offset);
      if (probe.equals(HDF5_SIGNATURE)) {
        start = offset;
        break;
      }
    }
    if (start < 0) throw runtimeError(`'${path}' is not an HDF5 file (no HDF5 signature)`);
    const superblock = Buffer.alloc(96);
    await handle.read(superblock, 0, 96, start);
    const end = superblockEnd(superblock);
    if (end !== undefined && start + end > size) {
      throw runtimeError(
        `'${path}' is truncated: ${size.toLocaleString('en-US')} of ${(start + end).toLocaleString('en-US')} bytes; fetch or save it again`,
      );
    }
  } finally {
    await handle.close();
  }
}

/** The end-of-file address a superblock (versions 0 to 3) records, relative to its base. */
export function superblockEnd(block: Buffer): number | undefined {
  const version = block[8];
  const readAddress = (at: number, width: number): number =>
    width === 8 ? Number(block.readBigUInt64LE(at)) : block.readUInt32LE(at);
  if (version === 0 || version === 1) {
    const width = block[13];
    // version(1) 3 versions(3) reserved(1) shared(1) widths(2) reserved(1) K(2+2) flags(4) [v1: K(2) reserved(2)], then base, free space, end.
    const addresses = 8 + 16 + (version === 1 ? 4 : 0);
    return width === 4 || width === 8 ? readAddress(addresses + 2 * width, width) : undefined;
  }
  if (version === 2 || version === 3) {
    const width = block[9];
    // version(1) widths(2) flags(1), then base, extension, end.
    return width === 4 || width === 8 ? readAddress(8 + 4 + 2 * width, width) : undefined;
  }
  return undefined;
}

/**
 * Runs an h5wasm call with HDF5's own error stack kept off the terminal (its Emscripten build
 * writes it to file descriptor 2 with fs.writeSync): cnnviz says what went wrong in one line
 * instead. The calls are synchronous, so nothing else of cnnviz's can write meanwhile.
 */
export function withoutHdf5Diagnostics<T>(work: () => T, path?: string): T {
  const writeSync = fs.writeSync;
  fs.writeSync = ((fd: number, buffer: string | ArrayBufferView, ...rest: unknown[]) => {
    if (fd !== 2) return (writeSync as (...args: unknown[]) => number)(fd, buffer, ...rest);
    const length = rest[1];
    return typeof length === 'number'
      ? length
      : typeof buffer === 'string'
        ? Buffer.byteLength(buffer)
        : buffer.byteLength;
  }) as typeof fs.writeSync;
  try {
    return work();
  } catch (err) {
    // A structure HDF5 cannot follow: a damaged file, in one line.
    if (path === undefined || err instanceof CnnvizError) throw err;
    throw runtimeError(`'${path}' is damaged: HDF5 cannot read it (${messageOf(err)})`);
  } finally {
    fs.writeSync = writeSync;
  }
}

type H5 = typeof import('h5wasm/node');
type H5Group = InstanceType<H5['Group']>;
type H5Dataset = InstanceType<H5['Dataset']>;

let h5Module: Promise<H5> | undefined;

/** Loads h5wasm once; it is ESM with a wasm payload, so only commands that read weights pay for it. */
export function loadH5wasm(): Promise<H5> {
  h5Module ??= import('h5wasm/node').then(async (h5) => {
    await h5.ready;
    return h5;
  });
  return h5Module;
}

/** Keras and h5py write byte strings (fixed length); h5wasm may give strings or byte arrays. */
function asStrings(value: unknown): string[] {
  const decode = (v: unknown): string =>
    typeof v === 'string' ? v : v instanceof Uint8Array ? new TextDecoder().decode(v).replace(/\0+$/, '') : String(v);
  if (value === null || value === undefined) return [];
  if (Array.isArray(value)) return value.map(decode);
  if (typeof value === 'string' || value instanceof Uint8Array) return [decode(value)];
  return Array.from(value as ArrayLike<unknown>, decode);
}

/** Reads a string-list attribute, joining the parts Keras splits long lists into. */
export function stringListAttribute(group: H5Group, name: string): string[] | undefined {
  const attrs = group.attrs;
  if (name in attrs) return asStrings(attrs[name].value);
  const parts: string[] = [];
  for (let i = 0; `${name}${i}` in attrs; i++) parts.push(...asStrings(attrs[`${name}${i}`].value));
  return parts.length > 0 ? parts : undefined;
}

function child(group: H5Group, path: string): unknown {
  // Walk part by part: asking HDF5 for a missing path prints diagnostics to stderr.
  let node: unknown = group;
  for (const part of path.split('/').filter(Boolean)) {
    if (!(node && typeof (node as H5Group).keys === 'function' && (node as H5Group).keys().includes(part)))
      return undefined;
    node = (node as H5Group).get(part);
  }
  return node;
}

function readDataset(dataset: H5Dataset): Float32Array {
  const value = dataset.value as unknown;
  if (value instanceof Float32Array) return value;
  if (ArrayBuffer.isView(value) || Array.isArray(value)) return Float32Array.from(value as ArrayLike<number>);
  return Float32Array.of(Number(value));
}

export interface KerasWeightsFile {
  /** Every layer the file names, weightless ones (pooling) included. */
  layerNames: string[];
  /** Reads the weights of the named layers (all layers when omitted). */
  read(layers?: string[]): LayerWeights;
  close(): void;
}

/** Opens a Keras weights or full-model .h5 file. */
export async function openKerasWeights(path: string): Promise<KerasWeightsFile> {
  await checkHdf5File(path);
  const h5 = await loadH5wasm();
  const { file, root, layerNames } = withoutHdf5Diagnostics(() => {
    const opened = new h5.File(path, 'r');
    if (opened.file_id === undefined || opened.file_id < 0n) throw runtimeError(`cannot read '${path}' as HDF5`);
    const group = (child(opened, 'model_weights') as H5Group | undefined) ?? opened;
    const names = stringListAttribute(group, 'layer_names');
    if (!names) {
      opened.close();
      throw runtimeError(`'${path}' is not a Keras weights file: it has no 'layer_names' attribute`);
    }
    return { file: opened, root: group, layerNames: names };
  }, path);
  return {
    layerNames,
    read: (layers = layerNames) =>
      withoutHdf5Diagnostics(() => {
        const result: LayerWeights = new Map();
        for (const layer of layers) {
          const group = child(root, layer) as H5Group | undefined;
          if (!group) continue;
          const names = stringListAttribute(group, 'weight_names') ?? [];
          result.set(
            layer,
            names.map((name) => {
              const dataset = child(group, name) as H5Dataset | undefined;
              if (!dataset)
                throw runtimeError(`'${path}': layer '${layer}' names weight '${name}', which the file does not hold`);
              return { name, shape: [...(dataset.shape ?? [])].map(Number), data: readDataset(dataset) };
            }),
          );
        }
        return result;
      }, path),
    close: () => file.close(),
  };
}

/**
 * Starts compiling HDF5's wasm on background threads, for a model whose weights are HDF5 (the
 * built-ins, .h5, .keras), so that it is ready when they are read; the model loader calls it
 * for those formats only.
 */
export function warmUpH5(): void {
  void loadH5wasm().catch(() => undefined);
}

export type { LayerWeights, WeightArray };
