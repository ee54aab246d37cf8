/**
 * What `model.summary()` reports, as data: one row per layer with its output shape and
 * parameter count, the stage ends marked, plus the totals. Rendering is render/table.ts's job.
 */
import { formatShape, isConvolution, type Net } from './net.js';
import { stageEnds } from './stages.js';

export interface SummaryRow {
  /** What --layer takes; null for rows that cannot be chosen (inside a nested model). */
  index: number | null;
  depth: number;
  name: string;
  type: string;
  /** e.g. "(None, 224, 224, 64)"; "?" when unknown. */
  outputShape: string;
  /** null when unknown. */
  params: number | null;
  connectedTo: string[];
  /** The stage this layer ends (1, 2, ...), as --blocks numbers them. */
  stage?: number;
}

export interface ModelSummary {
  name: string;
  format: string;
  rows: SummaryRow[];
  totalParams: number;
  trainableParams?: number;
  nonTrainableParams?: number;
  quantizedParams?: number;
  /** Layers cnnviz could not size; where their parameters are unknown too (null), the totals leave them out. */
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

export function summarize(net: Net): ModelSummary {
  const stages = new Map(stageEnds(net).map((layer, i) => [layer.name, i + 1]));
  return {
    name: net.name,
    format: net.format,
    rows: net.layers.map((l) => ({
      index: l.index,
      depth: l.depth,
      name: l.name,
      type: l.type,
      outputShape: formatShape(l.outputShape),
      params: l.params,
      connectedTo: l.inputs,
      ...(stages.has(l.name) ? { stage: stages.get(l.name) } : {}),
    })),
    totalParams: net.params.total,
    ...(net.params.trainable !== undefined ? { trainableParams: net.params.trainable } : {}),
    ...(net.params.nonTrainable !== undefined ? { nonTrainableParams: net.params.nonTrainable } : {}),
    ...(net.params.quantized ? { quantizedParams: net.params.quantized } : {}),
    unknownLayers: net.unknown,
    sequential: net.sequential,
  };
}

/** The tutorial's second listing: every convolution with its kernel shape. */
export function convolutionRows(net: Net): ConvRow[] {
  return net.layers.filter(isConvolution).map((l) => ({
    index: l.index!,
    name: l.name,
    kernelShape: formatShape(l.kernelShape),
    outputShape: formatShape(l.outputShape),
  }));
}
