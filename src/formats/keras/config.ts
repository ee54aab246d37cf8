/**
 * Brings the model configs Keras versions write to the one form tfjs-layers reads (Keras 2's):
 * Keras 3 adds `module`/`registered_name`/`build_config`, writes dtypes as policy objects,
 * inbound nodes as {args: [keras tensors]}, and InputLayer shapes as `batch_shape`.
 */
import { runtimeError } from '../../errors.js';
import { configLayers, type KerasModelConfig } from './graph.js';
import type { Json } from '../json.js';

const DROPPED_KEYS = new Set(['module', 'registered_name', 'build_config', 'compile_config', 'shared_object_id']);

function normalizeValue(value: Json): Json {
  if (Array.isArray(value)) return value.map(normalizeValue);
  if (!value || typeof value !== 'object') return value;
  // A dtype policy {class_name: 'DTypePolicy', config: {name: 'float32'}} is just its name to Keras 2.
  if (/DTypePolicy$/.test(value.class_name ?? '') && value.config?.name) return value.config.name;
  const out: Record<string, Json> = {};
  for (const [key, v] of Object.entries(value)) {
    if (DROPPED_KEYS.has(key)) continue;
    out[key] = normalizeValue(v);
  }
  return out;
}

/** Keras 3 {args: [{class_name: '__keras_tensor__', config: {keras_history}}]} to [[[name, node, tensor, {}]]]. */
function normalizeInboundNodes(nodes: Json[] | undefined): Json[] {
  if (!nodes || nodes.length === 0) return [];
  if (Array.isArray(nodes[0])) return nodes;
  return nodes.map((node) => {
    const history: Json[] = [];
    const visit = (v: Json): void => {
      if (Array.isArray(v)) v.forEach(visit);
      else if (v && typeof v === 'object') {
        if (v.class_name === '__keras_tensor__') history.push([...v.config.keras_history, {}]);
        else Object.values(v).forEach(visit);
      }
    };
    visit(node.args ?? []);
    return history;
  });
}

/** input_layers / output_layers: Keras 3 writes a single [name, 0, 0] for one tensor. */
const nestedTensorList = (list: Json): Json[] => (Array.isArray(list) && typeof list[0] === 'string' ? [list] : list);

/** Keras aliases, and layers that are the identity at inference, as tfjs knows them. */
const CLASS_ALIASES: Record<string, string> = {
  Convolution2D: 'Conv2D',
  MaxPool2D: 'MaxPooling2D',
  AvgPool2D: 'AveragePooling2D',
  SpatialDropout2D: 'Dropout',
};

function normalizeLayer(layer: Json): Json {
  const out = normalizeValue(layer);
  out.class_name = CLASS_ALIASES[out.class_name] ?? out.class_name;
  const config = out.config ?? {};
  if (config.batch_shape && !config.batch_input_shape) {
    config.batch_input_shape = config.batch_shape;
    delete config.batch_shape;
  }
  if (out.class_name === 'InputLayer') delete config.ragged;
  if ('inbound_nodes' in layer) out.inbound_nodes = normalizeInboundNodes(layer.inbound_nodes);
  if (out.class_name === 'Functional' || out.class_name === 'Sequential' || out.class_name === 'Model') {
    return { ...out, config: normalizeModelConfig({ class_name: out.class_name, config }).config };
  }
  return out;
}

export function normalizeModelConfig(model: KerasModelConfig): KerasModelConfig {
  const config = model.config ?? {};
  let layers = configLayers(model).map(normalizeLayer);
  if (model.class_name === 'Sequential' && layers[0]?.class_name === 'InputLayer') {
    // Keras' model.layers leaves a Sequential model's InputLayer out (indices start at the
    // first real layer); tfjs wants the shape on that first layer instead.
    const [input, ...rest] = layers;
    layers = rest;
    if (layers[0]) layers[0].config = { ...layers[0].config, batch_input_shape: input.config.batch_input_shape };
  }
  const base = Array.isArray(config) ? {} : normalizeValue(config);
  const out: Record<string, Json> = { ...base, layers };
  if (base.input_layers) out.input_layers = nestedTensorList(base.input_layers);
  if (base.output_layers) out.output_layers = nestedTensorList(base.output_layers);
  const className = model.class_name === 'Model' ? 'Functional' : model.class_name;
  return { class_name: className, config: out };
}

/** The model config inside what a file holds: a bare config, or wrapped as in model.json. */
export function modelConfigOf(topology: Json, source: string): KerasModelConfig {
  const config = topology?.model_config ?? topology;
  if (!config || typeof config !== 'object' || typeof config.class_name !== 'string') {
    throw runtimeError(`${source} holds no Keras model config`);
  }
  return normalizeModelConfig(config);
}
