/**
 * Reads weights from Keras HDF5 files with h5wasm, in the layout Keras' legacy
 * `save_weights` (and `keras.applications`) writes:
 *   root attribute `layer_names` (split as layer_names0, layer_names1, ... when long),
 *   one group per layer with attribute `weight_names`,
 *   a dataset per weight at `<layer>/<weight name>` (nested when the name holds '/').
 * Full-model files (`model.save("m.h5")`) hold the same layout under `model_weights`.
 */
import { open } from 'node:fs/promises';
import { runtimeError } from '../errors.js';

const HDF5_SIGNATURE = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);

/** HDF5 files start with a signature (at 0, or after a user block of 512, 1024, ... bytes). */
async function hasHdf5Signature(path: string): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    const probe = Buffer.alloc(8);
    for (let offset = 0; offset + 8 <= size; offset = offset === 0 ? 512 : offset * 2) {
      await handle.read(probe, 0, 8, offset);
      if (probe.equals(HDF5_SIGNATURE)) return true;
    }
    return false;
  } finally {
    await handle.close();
  }
}

export interface WeightArray {
  /** The name stored in the file, e.g. `block1_conv1/kernel:0` or `block1_conv1_W_1:0`. */
  name: string;
  shape: number[];
  data: Float32Array;
}

/** Weight values per layer name, in the order the layer stores them (kernel, bias, ...). */
export type LayerWeights = Map<string, WeightArray[]>;

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
    if (!(node && typeof (node as H5Group).keys === 'function' && (node as H5Group).keys().includes(part))) return undefined;
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
  // Checked first: HDF5 itself prints pages of diagnostics to stderr for a non-HDF5 file.
  if (!(await hasHdf5Signature(path))) throw runtimeError(`'${path}' is not an HDF5 file (no HDF5 signature)`);
  const h5 = await loadH5wasm();
  let file: InstanceType<H5['File']>;
  try {
    file = new h5.File(path, 'r');
  } catch (err) {
    throw runtimeError(`cannot read '${path}' as HDF5: ${(err as Error).message}`);
  }
  if (file.file_id === undefined || file.file_id < 0n) throw runtimeError(`cannot read '${path}' as HDF5`);
  const root = (child(file, 'model_weights') as H5Group | undefined) ?? file;
  const layerNames = stringListAttribute(root, 'layer_names');
  if (!layerNames) {
    file.close();
    throw runtimeError(`'${path}' is not a Keras weights file: it has no 'layer_names' attribute`);
  }
  return {
    layerNames,
    read(layers = layerNames) {
      const result: LayerWeights = new Map();
      for (const layer of layers) {
        const group = child(root, layer) as H5Group | undefined;
        if (!group) continue;
        const names = stringListAttribute(group, 'weight_names') ?? [];
        result.set(
          layer,
          names.map((name) => {
            const dataset = child(group, name) as H5Dataset | undefined;
            if (!dataset) throw runtimeError(`'${path}': layer '${layer}' names weight '${name}', which the file does not hold`);
            return { name, shape: [...(dataset.shape ?? [])].map(Number), data: readDataset(dataset) };
          }),
        );
      }
      return result;
    },
    close: () => file.close(),
  };
}

/** Starts compiling HDF5's wasm on background threads, in case weights must be read later. */
export function warmUpH5(): void {
  void loadH5wasm().catch(() => undefined);
}
