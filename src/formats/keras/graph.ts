/**
 * A model's architecture as plain data, read from a Keras model config (the JSON that
 * `model.to_json()`, tfjs model.json and .h5/.keras files carry). Shapes and parameter
 * counts come from here without allocating a single weight.
 */
import { usageError } from '../../errors.js';
import type { DataFormat } from '../../net/net.js';
import type { Json } from '../json.js';

export type { DataFormat, Dim, Shape } from '../../net/net.js';

export interface LayerNode {
  /** Position in `model.layers` as Keras numbers it (the tutorial picks layers by it). */
  index: number;
  name: string;
  className: string;
  config: Record<string, Json>;
  /** Names of the layers whose outputs feed this one (empty for inputs). */
  inbound: string[];
}

export interface ModelGraph {
  name: string;
  /** The layout of image tensors, from the layers that declare one (Keras' default: channels_last). */
  dataFormat: DataFormat;
  layers: LayerNode[];
  /** The Keras model config this graph was read from, kept to build the model with tfjs. */
  kerasConfig: KerasModelConfig;
}

export interface KerasModelConfig {
  class_name: string;
  config: Json;
}

/** A model config's layer list: Sequential configs of old Keras are the bare list. */
export function configLayers(model: KerasModelConfig): Json[] {
  const config = model.config ?? {};
  return Array.isArray(config) ? config : (config.layers ?? []);
}

/** The same model config with another layer list (the other keys kept). */
export function withConfigLayers(model: KerasModelConfig, layers: Json[]): KerasModelConfig {
  return { ...model, config: Array.isArray(model.config) ? layers : { ...model.config, layers } };
}

/** Keras 2 writes inbound nodes as nested arrays, Keras 3 as {args: [keras tensors]}. */
function inboundNames(layer: Json): string[] {
  const nodes: Json[] = layer.inbound_nodes ?? [];
  if (nodes.length === 0) return [];
  const first = nodes[0];
  if (Array.isArray(first)) return first.map((entry: Json) => String(entry[0]));
  const names: string[] = [];
  const visit = (value: Json): void => {
    if (Array.isArray(value)) value.forEach(visit);
    else if (value && typeof value === 'object') {
      if (value.class_name === '__keras_tensor__') names.push(String(value.config.keras_history[0]));
      else Object.values(value).forEach(visit);
    }
  };
  visit(first.args ?? []);
  return names;
}

function layerName(layer: Json): string {
  return String(layer.config?.name ?? layer.name);
}

function dataFormatOf(layers: LayerNode[]): DataFormat {
  const declared = layers.find((l) => typeof l.config.data_format === 'string');
  return declared?.config.data_format === 'channels_first' ? 'channels_first' : 'channels_last';
}

/** Reads a Sequential or Functional Keras model config into a graph. */
export function graphFromKerasConfig(modelConfig: KerasModelConfig): ModelGraph {
  const cls = modelConfig.class_name;
  const cfg = modelConfig.config ?? {};
  if (cls === 'Sequential') {
    const raw: Json[] = Array.isArray(cfg) ? cfg : cfg.layers;
    let previous: string | undefined;
    const layers = raw.map((layer, index): LayerNode => {
      const node: LayerNode = {
        index,
        name: layerName(layer),
        className: layer.class_name,
        config: layer.config ?? {},
        inbound: previous === undefined ? [] : [previous],
      };
      previous = node.name;
      return node;
    });
    return {
      name: String(cfg.name ?? 'sequential'),
      dataFormat: dataFormatOf(layers),
      layers,
      kerasConfig: modelConfig,
    };
  }
  if (cls === 'Functional' || cls === 'Model') {
    const layers = (cfg.layers as Json[]).map((layer, index): LayerNode => ({
      index,
      name: layerName(layer),
      className: layer.class_name,
      config: layer.config ?? {},
      inbound: inboundNames(layer),
    }));
    return { name: String(cfg.name ?? 'model'), dataFormat: dataFormatOf(layers), layers, kerasConfig: modelConfig };
  }
  throw usageError(`unsupported model class '${cls}': cnnviz reads Sequential and Functional models`);
}

/** The layers that the given layers depend on, themselves included, in model order. */
export function ancestors(graph: ModelGraph, names: string[]): LayerNode[] {
  const byName = new Map(graph.layers.map((l) => [l.name, l]));
  const keep = new Set<string>();
  const stack = [...names];
  while (stack.length > 0) {
    const name = stack.pop()!;
    if (keep.has(name)) continue;
    keep.add(name);
    stack.push(...(byName.get(name)?.inbound ?? []));
  }
  return graph.layers.filter((l) => keep.has(l.name));
}

/**
 * The Keras config of the part of the model that computes `outputs`: layers past them are
 * never built (VGG16's classifier alone is 124 M weights).
 */
export function truncatedConfig(graph: ModelGraph, outputs: string[]): KerasModelConfig {
  const keep = new Set(ancestors(graph, outputs).map((l) => l.name));
  const { class_name, config } = graph.kerasConfig;
  if (class_name === 'Sequential') {
    const last = Math.max(...graph.layers.filter((l) => keep.has(l.name)).map((l) => l.index));
    return {
      class_name,
      config: { ...(Array.isArray(config) ? {} : config), layers: configLayers(graph.kerasConfig).slice(0, last + 1) },
    };
  }
  return {
    class_name,
    config: {
      ...config,
      layers: (config.layers as Json[]).filter((l) => keep.has(String(l.config?.name ?? l.name))),
      output_layers: outputs.map((name) => [name, 0, 0]),
    },
  };
}
