/**
 * Saves one tfjs-layers model, weights included, in the three file formats cnnviz reads:
 * TensorFlow.js model.json + shard, a Keras full-model .h5, and a Keras 3 .keras archive.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { zipSync, strToU8 } from 'fflate';
import { loadH5wasm } from '../../src/weights/h5.js';
import { writeKerasH5, type H5Layer } from './keras-h5.js';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';

async function artifactsOf(model: tfl.LayersModel): Promise<tf.io.ModelArtifacts> {
  let saved: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      saved = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return saved!;
}

/** Weight values by layer, in each layer's own order, named as Keras 2 names them. */
function layerWeights(model: tfl.LayersModel): H5Layer[] {
  return model.layers.map((layer) => ({
    name: layer.name,
    weights: layer.weights.map((w) => ({
      name: `${w.originalName}:0`,
      shape: w.shape as number[],
      data: w.read().dataSync() as Float32Array,
    })),
  }));
}

export async function saveTfjs(model: tfl.LayersModel, dir: string): Promise<string> {
  const artifacts = await artifactsOf(model);
  writeFileSync(join(dir, 'group1-shard1of1.bin'), new Uint8Array(artifacts.weightData as ArrayBuffer));
  const json = {
    format: 'layers-model',
    generatedBy: 'cnnviz tests',
    modelTopology: artifacts.modelTopology,
    weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights: artifacts.weightSpecs }],
  };
  writeFileSync(join(dir, 'model.json'), JSON.stringify(json));
  return join(dir, 'model.json');
}

export async function saveKerasH5(model: tfl.LayersModel, path: string): Promise<string> {
  const artifacts = await artifactsOf(model);
  await writeKerasH5(path, layerWeights(model), { fullModel: artifacts.modelTopology as never });
  return path;
}

const NESTED = new Set(['Model', 'Functional', 'Sequential']);

const inboundOut = (nodes: any[][]) =>
  nodes.map((node) => ({
    args: node.map(([name, n, t]: any[]) => ({
      class_name: '__keras_tensor__',
      config: { shape: null, dtype: 'float32', keras_history: [name, n, t] },
    })),
    kwargs: {},
  }));

/** Rewrites a Keras 2 config the way Keras 3 writes it: module keys, dtype policies, keras tensors. */
export function toKeras3Config(config: any): any {
  const layerOut = (layer: any) => {
    // A nested model keeps its place in the graph and its own layers, written the same way.
    if (NESTED.has(layer.class_name)) {
      const inner = toKeras3Config(layer);
      return {
        ...inner,
        ...(layer.inbound_nodes ? { name: layer.name, inbound_nodes: inboundOut(layer.inbound_nodes) } : {}),
      };
    }
    const cfg = {
      ...layer.config,
      dtype: { module: 'keras', class_name: 'DTypePolicy', config: { name: 'float32' }, registered_name: null },
    };
    if (cfg.batch_input_shape) {
      cfg.batch_shape = cfg.batch_input_shape;
      delete cfg.batch_input_shape;
    }
    for (const [key, value] of Object.entries(cfg)) {
      if (key.endsWith('_initializer') && value && typeof value === 'object')
        cfg[key] = { module: 'keras.initializers', ...(value as object), registered_name: null };
    }
    const out: any = {
      module: 'keras.layers',
      class_name: layer.class_name,
      config: cfg,
      registered_name: null,
      build_config: { input_shape: null },
    };
    if (layer.inbound_nodes) {
      out.name = layer.name;
      out.inbound_nodes = inboundOut(layer.inbound_nodes);
    }
    return out;
  };
  const single = (list: any[]) => (list.length === 1 ? list[0] : list);
  const functional = config.class_name !== 'Sequential';
  return {
    module: functional ? 'keras.src.models.functional' : 'keras',
    class_name: functional ? 'Functional' : 'Sequential',
    config: {
      ...config.config,
      layers: config.config.layers.map(layerOut),
      ...(config.config.input_layers
        ? { input_layers: single(config.config.input_layers), output_layers: single(config.config.output_layers) }
        : {}),
    },
    registered_name: null,
  };
}

export async function saveKeras3(model: tfl.LayersModel, path: string): Promise<string> {
  const artifacts = await artifactsOf(model);
  const topology = artifacts.modelTopology as any;
  const dir = mkdtempSync(join(tmpdir(), 'cnnviz-k3-'));
  const h5 = await loadH5wasm();
  const file = new h5.File(join(dir, 'model.weights.h5'), 'w');
  // Keras 3 keeps each layer's variables at layers/<name>/vars/<i>, a nested model's at layers/<model>/layers/<name>/vars/<i>.
  const writeLayers = (group: any, layers: tfl.layers.Layer[]) => {
    const layersGroup = group.create_group('layers');
    for (const layer of layers) {
      const own = layersGroup.create_group(layer.name);
      if ('layers' in layer) writeLayers(own, (layer as tfl.LayersModel).layers);
      else {
        const vars = own.create_group('vars');
        layer.weights.forEach((w, i) =>
          vars.create_dataset({
            name: String(i),
            data: w.read().dataSync() as Float32Array,
            shape: w.shape as number[],
            dtype: '<f',
          }),
        );
      }
    }
  };
  writeLayers(file, model.layers);
  file.create_group('vars');
  file.close();
  const zip = zipSync({
    'metadata.json': strToU8(JSON.stringify({ keras_version: '3.5.0', date_saved: '2026-11-27@00:00:00' })),
    'config.json': strToU8(JSON.stringify(toKeras3Config(topology.model_config ?? topology))),
    'model.weights.h5': readFileSync(join(dir, 'model.weights.h5')),
  });
  rmSync(dir, { recursive: true });
  writeFileSync(path, zip);
  return path;
}

/** A single-shard model.json (layers or graph) and its shard, as tfjs loads them from memory. */
export function memoryModel(path: string): tf.io.IOHandler {
  const json = JSON.parse(readFileSync(path, 'utf8'));
  const shard = readFileSync(join(path, '..', json.weightsManifest[0].paths[0]));
  return tf.io.fromMemory({
    modelTopology: json.modelTopology,
    weightSpecs: json.weightsManifest[0].weights,
    weightData: shard.buffer.slice(shard.byteOffset, shard.byteOffset + shard.length),
  });
}

/** A single-shard TensorFlow.js layers model.json loaded by tfjs-layers itself: the tests' oracle. */
export async function loadLayersModelFile(path: string): Promise<tfl.LayersModel> {
  const { loadLayersModel } = await import('@tensorflow/tfjs-layers');
  return loadLayersModel(memoryModel(path));
}
