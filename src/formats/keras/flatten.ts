/**
 * Nested models (the transfer-learning shape: Input -> VGG16 base -> head) made flat: each
 * layer of an inner model becomes a layer of the outer one, named `outer/inner`, wired to what
 * fed the inner model, and what read the inner model reads its output layer instead. Shapes,
 * the ONNX translation and tfjs then see one plain functional model whose inner activations
 * can be asked for like any other.
 */
import { usageError } from '../../errors.js';
import type { LayerWeights } from '../../weights/h5.js';
import { layerOfWeight } from './files.js';
import { configLayers, type KerasModelConfig } from './graph.js';
import { NESTED_MODELS } from './shapes.js';
import type { Json } from '../json.js';

type Ref = [string, number, number, Record<string, unknown>];

const nameOf = (layer: Json): string => String(layer.config?.name ?? layer.name);

/** A Sequential config as the Functional one it stands for, with an InputLayer in front. */
function asFunctional(model: KerasModelConfig): KerasModelConfig {
  if (model.class_name !== 'Sequential') return model;
  const layers = configLayers(model);
  const shape = layers[0]?.config?.batch_input_shape;
  const name = String(model.config?.name ?? 'sequential');
  if (!shape) throw usageError(`the nested model '${name}' declares no input shape`);
  const input = {
    class_name: 'InputLayer',
    name: `${name}_input`,
    config: { name: `${name}_input`, batch_input_shape: shape, dtype: 'float32' },
    inbound_nodes: [],
  };
  let previous = input.name;
  const chained = layers.map((layer) => {
    const { batch_input_shape: _dropped, ...config } = layer.config ?? {};
    const out = { ...layer, name: nameOf(layer), config, inbound_nodes: [[[previous, 0, 0, {}]]] };
    previous = nameOf(layer);
    return out;
  });
  return {
    class_name: 'Functional',
    config: {
      name,
      layers: [input, ...chained],
      input_layers: [[input.name, 0, 0]],
      output_layers: [[previous, 0, 0]],
    },
  };
}

export const hasNestedModels = (model: KerasModelConfig): boolean =>
  configLayers(model).some((l) => NESTED_MODELS.has(l.class_name));

/** The flat Functional config of a model holding models (returned as it is when it holds none). */
export function flattenNested(model: KerasModelConfig): KerasModelConfig {
  if (!hasNestedModels(model)) return model;
  const functional = asFunctional(model);
  const rename = new Map<string, string>(); // a nested model's name -> its output layer's flat name
  const resolve = (ref: Ref): Ref => [rename.get(ref[0]) ?? ref[0], ref[1], ref[2], ref[3] ?? {}];
  const layers: Json[] = [];
  for (const layer of configLayers(functional)) {
    const name = nameOf(layer);
    const inbound: Ref[][] = layer.inbound_nodes ?? [];
    if (inbound.length > 1)
      throw usageError(
        `layer '${name}' is called ${inbound.length} times (a shared layer); cnnviz draws models whose layers are called once`,
      );
    if (!NESTED_MODELS.has(layer.class_name)) {
      layers.push({ ...layer, inbound_nodes: inbound.map((node) => node.map(resolve)) });
      continue;
    }
    const inner = asFunctional(flattenNested({ class_name: layer.class_name, config: layer.config }));
    const innerInputs: string[] = (inner.config.input_layers as Ref[]).map((r) => r[0]);
    const fed = (inbound[0] ?? []).map(resolve);
    if (innerInputs.length !== 1 || fed.length !== 1)
      throw usageError(
        `the nested model '${name}' takes ${innerInputs.length} inputs; cnnviz draws nested models with one`,
      );
    const local = (ref: Ref): Ref =>
      ref[0] === innerInputs[0] ? fed[0] : [`${name}/${ref[0]}`, ref[1], ref[2], ref[3] ?? {}];
    for (const innerLayer of configLayers(inner)) {
      if (innerInputs.includes(nameOf(innerLayer))) continue;
      const flatName = `${name}/${nameOf(innerLayer)}`;
      layers.push({
        ...innerLayer,
        name: flatName,
        config: { ...innerLayer.config, name: flatName },
        inbound_nodes: (innerLayer.inbound_nodes ?? []).map((node: Ref[]) => node.map(local)),
      });
    }
    const outputs = inner.config.output_layers as Ref[];
    if (outputs.length !== 1)
      throw usageError(`the nested model '${name}' has ${outputs.length} outputs; cnnviz draws nested models with one`);
    rename.set(name, `${name}/${outputs[0][0]}`);
  }
  const outer = functional.config;
  return {
    class_name: 'Functional',
    config: {
      ...outer,
      layers,
      output_layers: (outer.output_layers as Ref[]).map((r) => resolve(r).slice(0, 3)),
      input_layers: outer.input_layers,
    },
  };
}

/**
 * Weights as the files keep them, under the flat names: an inner layer's values are found
 * under `outer/inner`, under `inner` (tfjs manifests and .keras archives name them so), or
 * among the outer model's own (a .h5 file keeps a nested model as one group).
 */
export function flattenWeights(weights: LayerWeights, model: KerasModelConfig, prefix = ''): LayerWeights {
  const flat: LayerWeights = new Map();
  for (const layer of configLayers(model)) {
    const name = nameOf(layer);
    if (!NESTED_MODELS.has(layer.class_name)) {
      const found = weights.get(`${prefix}${name}`) ?? (prefix ? weights.get(name) : undefined);
      if (found) flat.set(`${prefix}${name}`, found);
      continue;
    }
    // A .h5 group of the nested model, regrouped by its weights' own layer names.
    const group = weights.get(`${prefix}${name}`) ?? weights.get(name);
    const pool: LayerWeights = new Map(weights);
    for (const w of group ?? []) {
      const owner = layerOfWeight(w.name);
      pool.set(owner, [...(pool.get(owner) ?? []).filter((x) => x !== w), w]);
    }
    for (const [inner, arrays] of flattenWeights(
      pool,
      { class_name: layer.class_name, config: layer.config },
      `${prefix}${name}/`,
    ))
      flat.set(inner, arrays);
  }
  return flat;
}
