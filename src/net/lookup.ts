/**
 * Finding layers by what users type: a name, an index, or another name of the layer's output
 * (an ONNX output tensor). Mistakes get a "did you mean" and the list of layers that would work.
 */
import { usageError } from '../errors.js';
import type { Net, NetLayer } from './net.js';

/** Levenshtein distance, for "did you mean" on layer names. */
function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length];
}

export function closestName(name: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return bestDistance <= Math.max(3, Math.floor(name.length / 2)) ? best : undefined;
}

/** The layer a reference names, without judging whether it fits; undefined when none does. */
export function lookupLayer(net: Net, ref: string): NetLayer | undefined {
  const selectable = net.layers.filter((l) => l.index !== null);
  if (/^\d+$/.test(ref)) {
    const byIndex = selectable.find((l) => l.index === Number(ref));
    if (byIndex) return byIndex;
  }
  return selectable.find((l) => l.name === ref) ?? selectable.find((l) => l.aliases?.includes(ref));
}

/** Long lists (an ONNX file has hundreds of nodes) are cut, saying how many more there are. */
function listLayers(layers: NetLayer[], most = 40): string {
  const shown = layers.slice(0, most).map((l) => `${l.index}:${l.name}`);
  return layers.length > most ? `${shown.join(', ')}, ... (${layers.length - most} more; see 'cnnviz summary')` : shown.join(', ');
}

/**
 * Finds a layer by name or index ("block1_conv1" or "1"). `allowed` narrows the choice (conv
 * layers only, say) so that the error lists the layers that would work.
 */
export function findLayer(net: Net, ref: string, allowed: NetLayer[] = net.layers, what = 'layer', plural = `${what}s`): NetLayer {
  const layer = lookupLayer(net, ref);
  if (layer && allowed.includes(layer)) return layer;
  if (layer) throw usageError(`layer '${layer.name}' (${layer.type}) is not a ${what}; ${plural} of ${net.name}: ${listLayers(allowed)}`);
  const guess = closestName(ref, allowed.map((l) => l.name));
  const hint = guess ? ` Did you mean '${guess}'?` : '';
  throw usageError(`no layer '${ref}' in ${net.name}.${hint} Valid ${plural}: ${listLayers(allowed)}`);
}
