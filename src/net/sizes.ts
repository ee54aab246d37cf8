/**
 * Whether an input size works for a network, checked on shapes alone before any work: every
 * map at least 1x1, and the largest activation within a memory budget.
 */
import type { Net, NetLayer } from './net.js';

/** The first layer whose map has a side below 1 pixel (the input is too small for it). */
export function firstEmptyMap(net: Net): NetLayer | undefined {
  return net.layers.find((l) => l.mapShape?.slice(0, 2).some((d) => typeof d === 'number' && d < 1));
}

/** The largest float32 tensor one image makes (the input included), in bytes. */
export function largestActivation(net: Net): { name: string; bytes: number } {
  const [h, w, c] = net.input;
  let largest = { name: 'the input', bytes: (h ?? 0) * (w ?? 0) * (c ?? 0) * 4 };
  for (const layer of net.layers) {
    const dims = layer.outputShape?.slice(1) ?? [];
    if (dims.some((d) => d === null)) continue;
    const bytes = (dims as number[]).reduce((a, b) => a * Math.max(b, 0), 4);
    if (bytes > largest.bytes) largest = { name: layer.name, bytes };
  }
  return largest;
}

/** The smallest square input at which no map is empty, between 1 and `upTo` (shapes only grow with the input). */
export async function smallestWorkingSize(
  netAt: (side: number) => Promise<Net> | Net,
  upTo = 4096,
): Promise<number | undefined> {
  if (firstEmptyMap(await netAt(upTo))) return undefined;
  let [low, high] = [1, upTo];
  while (low < high) {
    const mid = Math.floor((low + high) / 2);
    if (firstEmptyMap(await netAt(mid))) low = mid + 1;
    else high = mid;
  }
  return low;
}

/** '4 GB', '512 MB'. */
export function formatBytes(bytes: number): string {
  return bytes >= 2 ** 30 ? `${(bytes / 2 ** 30).toFixed(1)} GB` : `${Math.ceil(bytes / 2 ** 20)} MB`;
}
