/**
 * Models from files: a TensorFlow.js layers model (model.json and its shards), a Keras
 * full-model HDF5 file (`model.save("m.h5")`), and a Keras 3 `.keras` archive. Each gives
 * the architecture (as a Keras config) and the weights per layer.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { runtimeError, usageError } from '../../errors.js';
import { configLayers, type KerasModelConfig } from './graph.js';
import {
  loadH5wasm,
  openKerasWeights,
  withoutHdf5Diagnostics,
  type LayerWeights,
  type WeightArray,
} from '../../weights/h5.js';
import { modelConfigOf } from './config.js';
import { checkedManifest, manifestShards, readManifestWeights } from '../../weights/tfjs-weights.js';
import type { Json } from '../json.js';

export interface ModelFile {
  config: KerasModelConfig;
  /** The files the model is read from (model.json and its shards), for cache identities. */
  files: string[];
  /** Reads the weights the file holds (all layers). */
  readWeights(): Promise<LayerWeights>;
}

export const MODEL_FILE_KINDS = '.json (TensorFlow.js), .h5 (Keras model.save), .keras (Keras 3)';

async function readJson(path: string, what: string): Promise<Json> {
  try {
    return JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw runtimeError(`cannot read ${what} '${path}': ${(err as Error).message.split('\n')[0]}`);
  }
}

/** The layer a weight belongs to: 'block1_conv1/kernel' and 'block1_conv1/kernel:0' belong to block1_conv1. */
export function layerOfWeight(name: string): string {
  const parts = name.split('/');
  return parts.length > 1 ? parts.slice(0, -1).join('/') : name.replace(/_[A-Za-z]+(_\d+)?:\d+$/, '');
}

function groupByLayer(arrays: WeightArray[]): LayerWeights {
  const weights: LayerWeights = new Map();
  for (const w of arrays) {
    const layer = layerOfWeight(w.name);
    weights.set(layer, [...(weights.get(layer) ?? []), w]);
  }
  return weights;
}

async function readTfjsModel(path: string): Promise<ModelFile> {
  const json = await readJson(path, 'TensorFlow.js model');
  if (!json.modelTopology)
    throw usageError(`'${path}' is not a TensorFlow.js layers model (no modelTopology); graph models cannot be drawn`);
  const config = modelConfigOf(json.modelTopology, `'${path}'`);
  const manifest = await checkedManifest(path, json.weightsManifest);
  return {
    config,
    files: [path, ...manifestShards(path, manifest).filter((p: string) => existsSync(p))],
    readWeights: async () => groupByLayer((await readManifestWeights(path, manifest)).weights),
  };
}

async function readKerasH5Model(path: string): Promise<ModelFile> {
  const h5 = await loadH5wasm();
  // openKerasWeights checks the signature and layout first; then the config attribute is read.
  const weights = await openKerasWeights(path);
  weights.close();
  const raw = withoutHdf5Diagnostics(() => {
    const file = new h5.File(path, 'r');
    try {
      return 'model_config' in file.attrs ? file.attrs['model_config'].value : undefined;
    } finally {
      file.close();
    }
  }, path);
  if (raw === undefined) {
    throw usageError(`'${path}' holds weights only, no architecture: use it as --weights with a --model that matches`);
  }
  const text = typeof raw === 'string' ? raw : new TextDecoder().decode(raw as Uint8Array);
  return {
    config: modelConfigOf(JSON.parse(text), `'${path}'`),
    files: [path],
    async readWeights() {
      const file = await openKerasWeights(path);
      try {
        return file.read();
      } finally {
        file.close();
      }
    },
  };
}

/** Keras 3 stores each layer's variables at layers/<name>/vars/<i>, nested models deeper. */
function readKeras3Weights(root: Json, config: KerasModelConfig): LayerWeights {
  const weights: LayerWeights = new Map();
  const layersGroup = root.keys().includes('layers') ? root.get('layers') : undefined;
  if (!layersGroup) return weights;
  for (const layer of configLayers(config)) {
    const name = String(layer.config?.name ?? layer.name);
    if (!layersGroup.keys().includes(name)) continue;
    const group = layersGroup.get(name);
    if (layer.class_name === 'Functional' || layer.class_name === 'Sequential') {
      for (const [inner, arrays] of readKeras3Weights(group, layer)) weights.set(inner, arrays);
      continue;
    }
    if (!group.keys().includes('vars')) continue;
    const vars = group.get('vars');
    const indices = vars
      .keys()
      .map(Number)
      .sort((a: number, b: number) => a - b);
    weights.set(
      name,
      indices.map((i: number) => {
        const dataset = vars.get(String(i));
        return {
          name: `${name}/vars/${i}`,
          shape: [...dataset.shape].map(Number),
          data: Float32Array.from(dataset.value as ArrayLike<number>),
        };
      }),
    );
  }
  return weights;
}

async function readKerasArchive(path: string): Promise<ModelFile> {
  const { unzipSync, strFromU8 } = await import('fflate');
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(await readFile(path));
  } catch (err) {
    throw runtimeError(`'${path}' is not a valid .keras archive (zip): ${(err as Error).message}`);
  }
  if (!entries['config.json']) throw runtimeError(`'${path}' has no config.json: not a Keras 3 model archive`);
  const config = modelConfigOf(JSON.parse(strFromU8(entries['config.json'])), `'${path}'`);
  return {
    config,
    files: [path],
    async readWeights() {
      const bytes = entries['model.weights.h5'];
      if (!bytes) throw runtimeError(`'${path}' has no model.weights.h5`);
      // h5wasm opens files by path: the weights go to a private temporary folder for the read.
      const dir = await mkdtemp(join(tmpdir(), 'cnnviz-keras-'));
      try {
        await writeFile(join(dir, 'model.weights.h5'), bytes);
        const h5 = await loadH5wasm();
        return withoutHdf5Diagnostics(() => {
          const file = new h5.File(join(dir, 'model.weights.h5'), 'r');
          try {
            return readKeras3Weights(file, config);
          } finally {
            file.close();
          }
        }, path);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
}

/** The Keras formats a model file can be: each has its reader. */
export type KerasFileKind = 'tfjs-layers' | 'keras-h5' | 'keras-archive';

const KIND_BY_EXTENSION: Record<string, KerasFileKind> = {
  '.json': 'tfjs-layers',
  '.h5': 'keras-h5',
  '.hdf5': 'keras-h5',
  '.keras': 'keras-archive',
};

/** A Keras model file of the given kind (the registry tells it from the content), else by its extension. */
export async function readModelFile(
  path: string,
  kind = KIND_BY_EXTENSION[extname(path).toLowerCase()],
): Promise<ModelFile> {
  if (kind === 'tfjs-layers') return readTfjsModel(path);
  if (kind === 'keras-h5') return readKerasH5Model(path);
  if (kind === 'keras-archive') return readKerasArchive(path);
  throw usageError(`cannot read model file '${path}': cnnviz reads ${MODEL_FILE_KINDS}`);
}
