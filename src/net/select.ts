/**
 * Which layers a feature-maps run draws: `--blocks` (stage ends, see stages.ts) and
 * `--layer` (by name or index), checked to be spatial, in model order.
 */
import { usageError } from '../errors.js';
import { findLayer, lookupLayer } from './lookup.js';
import { isSpatial, type Net } from './net.js';
import { stageEnds } from './stages.js';

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
 * `blocks` is 'all', a list like '1,3,5', or 'auto' (every stage if the model has any, else
 * the default layer), which is what a report shows unless told otherwise.
 */
export function selectFeatureLayers(
  net: Net,
  options: { blocks?: string; layers?: string[]; defaultLayer?: string },
): string[] {
  const spatial = net.layers.filter(isSpatial);
  const ends = stageEnds(net);
  const chosen = new Set<string>();
  const blocks = options.blocks === 'auto' ? (ends.length > 0 ? 'all' : undefined) : options.blocks;
  if (blocks) {
    if (ends.length === 0) {
      const names = spatial.map((l) => l.name);
      const list = names.length > 20 ? `${names.slice(0, 20).join(', ')}, ...` : names.join(', ');
      throw usageError(
        `${net.name} has no stages (no convolution whose maps are larger than 1x1); pick layers with --layer (spatial layers: ${list})`,
      );
    }
    parseBlocks(blocks, ends.length).forEach((n) => chosen.add(ends[n - 1].name));
  }
  const fallback = spatial.find((l) => l.name === options.defaultLayer)?.name ?? spatial[0]?.name;
  const refs = options.layers ?? (blocks || !fallback ? [] : [fallback]);
  for (const ref of refs) {
    const layer = lookupLayer(net, ref);
    if (layer && !layer.outputShape) {
      // Not "not spatial": cnnviz could not size it, most often past an op it does not know.
      const first = net.layers.find((l) => l.name === net.unknown[0]);
      const cause =
        first && first !== layer
          ? `: the first layer cnnviz cannot size is '${first.name}' (${first.type})`
          : `: cnnviz cannot size a ${layer.type}`;
      throw usageError(`the shape of '${layer.name}' is unknown${cause}`);
    }
    chosen.add(findLayer(net, ref, spatial, 'spatial layer', 'spatial layers (ones with feature maps)').name);
  }
  if (chosen.size === 0) throw usageError(`${net.name} has no spatial layers to draw feature maps from`);
  return net.layers.filter((l) => chosen.has(l.name)).map((l) => l.name);
}
