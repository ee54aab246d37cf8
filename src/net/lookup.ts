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

/**
 * The layer a reference names, without judging whether it fits; undefined when none does.
 * Besides whole names and indices, a unique trailing part of a path-like name works
 * (`b1_conv1` for `base/b1_conv1`, `layer4.1/relu_1/Relu` for an ONNX node's name).
 */
export function lookupLayer(net: Net, ref: string): NetLayer | undefined {
  const selectable = net.layers.filter((l) => l.index !== null);
  if (/^\d+$/.test(ref)) {
    const byIndex = selectable.find((l) => l.index === Number(ref));
    if (byIndex) return byIndex;
  }
  const exact = selectable.find((l) => l.name === ref) ?? selectable.find((l) => l.aliases?.includes(ref));
  if (exact) return exact;
  const outer = ref.includes('/') ? selectable.find((l) => l.name === ref.slice(0, ref.indexOf('/'))) : undefined;
  if (outer && outer.role !== 'model')
    throw usageError(`'${outer.name}' (${outer.type}) is not a model, so '${ref}' names nothing inside it`);
  const tails = selectable.filter((l) => [l.name, ...(l.aliases ?? [])].some((name) => name.endsWith(`/${ref}`)));
  if (tails.length > 1) {
    const shown = tails.slice(0, 8).map((l) => `${l.index}:${l.name}`);
    throw usageError(
      `'${ref}' ends ${tails.length} layer names (${shown.join(', ')}${tails.length > 8 ? ', ...' : ''}); give more of the name`,
    );
  }
  return tails[0];
}

/** Long lists (an ONNX file has hundreds of nodes) are cut, saying how many more there are. */
function listLayers(layers: NetLayer[], most = 40): string {
  const shown = layers.slice(0, most).map((l) => `${l.index}:${l.name}`);
  return layers.length > most
    ? `${shown.join(', ')}, ... (${layers.length - most} more; see 'cnnviz summary')`
    : shown.join(', ');
}

/**
 * Finds a layer by name or index ("block1_conv1" or "1"). `allowed` narrows the choice (conv
 * layers only, say) so that the error lists the layers that would work.
 */
export function findLayer(
  net: Net,
  ref: string,
  allowed: NetLayer[] = net.layers,
  what = 'layer',
  plural = `${what}s`,
): NetLayer {
  const layer = lookupLayer(net, ref);
  if (layer && allowed.includes(layer)) return layer;
  if (layer)
    throw usageError(
      `layer '${layer.name}' (${layer.type}) is not a ${what}; ${plural} of ${net.name}: ${listLayers(allowed)}`,
    );
  const guess = closestName(
    ref,
    allowed.map((l) => l.name),
  );
  const hint = guess ? ` Did you mean '${guess}'?` : '';
  throw usageError(`no layer '${ref}' in ${net.name}.${hint} Valid ${plural}: ${listLayers(allowed)}`);
}
