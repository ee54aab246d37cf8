/**
 * A Keras model config (with its inferred shapes) as the format-neutral network description.
 * Nested models are listed with their inner layers beneath them, as Keras' expand_nested does;
 * those rows cannot be chosen yet (index null).
 */
import { isChain, mapDims, type LayerRole, type Net, type NetLayer } from '../../net/net.js';
import type { LayerNode, ModelGraph } from './graph.js';
import {
  countWeights,
  inferShapes,
  isKerasConvolution,
  kerasWindow,
  modelInputShape,
  NESTED_MODELS,
  type LayerShapes,
} from './shapes.js';

function roleOf(layer: LayerNode): LayerRole {
  if (layer.className === 'InputLayer') return 'input';
  if (NESTED_MODELS.has(layer.className)) return 'model';
  if (isKerasConvolution(layer)) return 'conv';
  if (/^(ZeroPadding2D|Cropping2D)$/.test(layer.className)) return 'pad';
  return 'other';
}

/**
 * Rows in summary order. A nested model's layers follow its row, named `outer/inner` and
 * numbered after the model's own layers (whose numbers stay Keras'), so --layer reaches them.
 */
function layersOf(
  shapes: LayerShapes[],
  graph: ModelGraph,
  depth: number,
  prefix = '',
  next = { index: shapes.length },
): NetLayer[] {
  const inner = new Set(shapes.map((s) => s.layer.name));
  return shapes.flatMap((s): NetLayer[] => [
    {
      index: depth === 0 ? s.layer.index : next.index++,
      depth,
      name: `${prefix}${s.layer.name}`,
      type: s.layer.className,
      role: roleOf(s.layer),
      inputs: s.layer.inbound.map((name) => (inner.has(name) ? `${prefix}${name}` : name)),
      // A Sequential model's first layer reads the image (there is no InputLayer row).
      ...(depth === 0 && s.layer.inbound.length === 0 && roleOf(s.layer) !== 'input' ? { readsInput: true } : {}),
      outputShape: s.outputShape,
      mapShape: mapDims(s.outputShape, graph.dataFormat),
      params: s.weights ? countWeights(s.weights) : null,
      ...(isKerasConvolution(s.layer) && s.weights?.[0] ? { kernelShape: s.weights[0].shape } : {}),
      window: kerasWindow(s.layer.className, s.layer.config),
    },
    ...(s.inner ? layersOf(s.inner, graph, depth + 1, `${prefix}${s.layer.name}/`, next) : []),
  ]);
}

export function kerasNet(graph: ModelGraph, shapes: LayerShapes[] = inferShapes(graph)): Net {
  const weights = shapes.flatMap((s) => s.weights ?? []);
  const layers = layersOf(shapes, graph, 0);
  return {
    name: graph.name,
    format: 'keras',
    layers,
    input: mapDims(modelInputShape(shapes), graph.dataFormat) ?? [null, null, null],
    params: {
      total: countWeights(weights),
      trainable: countWeights(weights, 'trainable'),
      nonTrainable: countWeights(weights, 'non-trainable'),
    },
    // A nested model with an unknown layer inside is incomplete because of that layer, listed itself.
    unknown: layers.filter((l) => l.params === null && !NESTED_MODELS.has(l.type)).map((l) => l.name),
    sequential: isChain(graph.layers.map((l) => ({ name: l.name, inputs: l.inbound }))),
  };
}
