/**
 * Which layers a feature-maps run draws: `--blocks` (the layer feeding each pooling layer)
 * and `--layer` (by name or index), checked to be spatial, in model order.
 */
import { usageError } from '../errors.js';
import { blockOutputs, findLayer, type ModelGraph } from '../formats/keras/graph.js';
import { inferShapes, isSpatial } from '../formats/keras/shapes.js';

/** `all`, or block numbers from 1 like "1,3,5". */
export function parseBlocks(value: string, available: number): number[] {
  if (value === 'all') return Array.from({ length: available }, (_, i) => i + 1);
  const numbers = value.split(',').map((s) => s.trim());
  if (numbers.some((n) => !/^\d+$/.test(n) || Number(n) < 1 || Number(n) > available)) {
    throw usageError(`--blocks takes 'all' or block numbers from 1 to ${available}, got '${value}'`);
  }
  return [...new Set(numbers.map(Number))];
}

/**
 * `blocks` is 'all', a list like '1,3,5', or 'auto' (every block if the model has pooling
 * layers, else the default layer), which is what a report shows unless told otherwise.
 */
export function selectFeatureLayers(graph: ModelGraph, options: { blocks?: string; layers?: string[]; defaultLayer?: string }): string[] {
  const spatial = inferShapes(graph).filter(isSpatial).map((s) => s.layer);
  const chosen = new Set<string>();
  if (options.blocks === 'auto') options = { ...options, blocks: blockOutputs(graph).length > 0 ? 'all' : undefined };
  if (options.blocks) {
    const ends = blockOutputs(graph);
    if (ends.length === 0) throw usageError(`${graph.name} has no pooling layers, so no blocks; pick layers with --layer (spatial layers: ${spatial.map((l) => l.name).join(', ')})`);
    parseBlocks(options.blocks, ends.length).forEach((n) => chosen.add(ends[n - 1].name));
  }
  const fallback = options.defaultLayer && graph.layers.some((l) => l.name === options.defaultLayer) ? options.defaultLayer : spatial[0]?.name;
  const refs = options.layers ?? (options.blocks || !fallback ? [] : [fallback]);
  for (const ref of refs) chosen.add(findLayer(graph, ref, spatial, 'spatial layer', 'spatial layers (ones with feature maps)').name);
  if (chosen.size === 0) throw usageError(`${graph.name} has no spatial layers to draw feature maps from`);
  return graph.layers.filter((l) => chosen.has(l.name)).map((l) => l.name);
}
