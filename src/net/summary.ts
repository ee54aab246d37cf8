/**
 * What `model.summary()` reports, as data: one row per layer with its output shape and
 * parameter count, plus the totals. Rendering is render/table.ts's job.
 */
import type { ModelGraph, Shape } from '../formats/keras/graph.js';
import { countWeights, inferShapes, isConvolution, NESTED_MODELS, type LayerShapes } from '../formats/keras/shapes.js';

export interface SummaryRow {
  /** Keras' index; inner layers of a nested model get none. */
  index: number | null;
  /** 0 for the model's own layers, 1 for the layers of a nested model, ... */
  depth: number;
  name: string;
  className: string;
  /** e.g. "(None, 224, 224, 64)"; "?" when the class is unknown to cnnviz. */
  outputShape: string;
  /** null when unknown. */
  params: number | null;
  connectedTo: string[];
}

export interface ModelSummary {
  name: string;
  rows: SummaryRow[];
  totalParams: number;
  trainableParams: number;
  nonTrainableParams: number;
  /** Layers whose class cnnviz does not know: their shapes and counts are left out of the totals. */
  unknownLayers: string[];
  /** True when every layer feeds only the next one, as in Keras' Sequential summary. */
  sequential: boolean;
}

export interface ConvRow {
  index: number;
  name: string;
  kernelShape: string;
  outputShape: string;
}

export function formatShape(shape: Shape | undefined): string {
  if (!shape) return '?';
  const dims = shape.map((d) => (d === null ? 'None' : String(d)));
  return `(${dims.join(', ')}${dims.length === 1 ? ',' : ''})`;
}

function isChain(graph: ModelGraph): boolean {
  return graph.layers.every((l, i) => (i === 0 ? l.inbound.length === 0 : l.inbound.length === 1 && l.inbound[0] === graph.layers[i - 1].name));
}

function rowsOf(shapes: LayerShapes[], depth: number): SummaryRow[] {
  return shapes.flatMap((s): SummaryRow[] => [
    {
      index: depth === 0 ? s.layer.index : null,
      depth,
      name: s.layer.name,
      className: s.layer.className,
      outputShape: formatShape(s.outputShape),
      params: s.weights ? countWeights(s.weights) : null,
      connectedTo: s.layer.inbound,
    },
    // A nested model is shown with its own layers beneath it, as Keras' expand_nested does.
    ...(s.inner ? rowsOf(s.inner, depth + 1) : []),
  ]);
}

export function summarize(graph: ModelGraph, shapes: LayerShapes[] = inferShapes(graph)): ModelSummary {
  const rows = rowsOf(shapes, 0);
  const weights = shapes.flatMap((s) => s.weights ?? []);
  return {
    name: graph.name,
    rows,
    totalParams: countWeights(weights),
    trainableParams: countWeights(weights, 'trainable'),
    nonTrainableParams: countWeights(weights, 'non-trainable'),
    // A nested model with an unknown layer inside is incomplete because of that layer, listed itself.
    unknownLayers: rows.filter((r) => r.params === null && !NESTED_MODELS.has(r.className)).map((r) => r.name),
    sequential: isChain(graph),
  };
}

/** The tutorial's second listing: every convolution with its kernel shape. */
export function convolutionRows(shapes: LayerShapes[]): ConvRow[] {
  return shapes
    .filter((s) => isConvolution(s.layer))
    .map((s) => ({
      index: s.layer.index,
      name: s.layer.name,
      kernelShape: formatShape(s.weights?.[0]?.shape),
      outputShape: formatShape(s.outputShape),
    }));
}
