/**
 * Stages: what `--blocks` counts, defined on the network's main path. The main path is the
 * longest input-to-output path; it is split into runs of equal resolution (output stride:
 * input size over map size, to the nearest power of two, so that a 'valid' 3x3 convolution,
 * 64 to 62 pixels, stays in its run while a pooling layer or a strided convolution starts the
 * next). Each run ends at its last layer that every input-to-output path passes through (a
 * dominator: the end of a residual block, not a layer inside its branch), or at its last layer
 * when none does (the deep levels of a U-Net, bridged by skip connections). Layers that only
 * pad or crop, 1x1 maps, and runs without a convolution (VGG's last pooling layer alone,
 * preprocessing on the raw input) start no stage. On VGG16 the ends are block1_conv2 ...
 * block5_conv3; on a ResNet the stem's ReLU and each stage's last block; on a MobileNetV2 the
 * expand activation before each strided depthwise convolution, then the last convolution; on
 * a U-Net its encoder levels, then its decoder levels.
 */
import { isSpatial, type Net, type NetLayer } from './net.js';

/** log2 of how many times smaller the map is than the input, rounded: 0, 1, 2, ... */
export function strideLevel([inputHeight, inputWidth]: [number, number], [height, width]: [number, number]): number {
  return Math.round(Math.log2((inputHeight * inputWidth) / (height * width)) / 2);
}

/**
 * Each layer's predecessors in the data flow. A nested model's row is fed by its last inner
 * layer (it stands for it), and the nested model's own sources by what fed the row.
 */
function predecessors(net: Net): Map<string, string[]> {
  const names = new Set(net.layers.map((l) => l.name));
  const preds = new Map(net.layers.map((l) => [l.name, l.inputs.filter((i) => names.has(i))]));
  for (const model of net.layers.filter((l) => l.role === 'model')) {
    const inner = net.layers.filter((l) => l.depth === model.depth + 1 && l.name.startsWith(`${model.name}/`));
    if (inner.length === 0) continue;
    const fed = preds.get(model.name)!;
    for (const l of inner) if (preds.get(l.name)!.length === 0) preds.set(l.name, fed);
    preds.set(model.name, [inner[inner.length - 1].name]);
  }
  return preds;
}

/** Each layer's consumers, from the predecessor lists. */
function successorsOf(preds: Map<string, string[]>): Map<string, string[]> {
  const next = new Map<string, string[]>();
  for (const [name, ps] of preds)
    for (const p of ps) {
      const list = next.get(p);
      if (list) list.push(name);
      else next.set(p, [name]);
    }
  return next;
}

/** Layers in an order where each follows its predecessors (Kahn's algorithm, ties in file order). */
function topologicalOrder(net: Net, preds: Map<string, string[]>): string[] {
  const waiting = new Map(net.layers.map((l) => [l.name, preds.get(l.name)!.length]));
  const next = successorsOf(preds);
  const order: string[] = [];
  const ready = net.layers.filter((l) => waiting.get(l.name) === 0).map((l) => l.name);
  // A queue read by index: shifting an array of thousands of nodes would copy it each time.
  for (let head = 0; head < ready.length; head++) {
    const name = ready[head];
    order.push(name);
    for (const n of next.get(name) ?? []) {
      waiting.set(n, waiting.get(n)! - 1);
      if (waiting.get(n) === 0) ready.push(n);
    }
  }
  return order; // a cycle's layers are left out: no path runs through them
}

/**
 * The longest path from the image input to an output, and which of its layers lie on every
 * input-to-output path: those through which as many paths run as there are in all (counted
 * exactly, as BigInts: a ResNet-50 has 2^16 paths, a U²-Net far more).
 */
export function mainPath(net: Net): { path: string[]; dominators: Set<string> } {
  const preds = predecessors(net);
  const order = topologicalOrder(net, preds);
  const roleOf = new Map(net.layers.map((l) => [l.name, l.role]));
  const readsImage = new Set(net.layers.filter((l) => l.readsInput).map((l) => l.name));
  const isSource = (name: string) =>
    preds.get(name)!.length === 0 && (roleOf.get(name) === 'input' || readsImage.has(name));
  const from = new Map<string, bigint>();
  const length = new Map<string, number>();
  const best = new Map<string, string | undefined>();
  for (const name of order) {
    if (isSource(name)) {
      from.set(name, 1n);
      length.set(name, 1);
      continue;
    }
    const reached = preds.get(name)!.filter((p) => (from.get(p) ?? 0n) > 0n);
    from.set(
      name,
      reached.reduce((sum, p) => sum + from.get(p)!, 0n),
    );
    if (reached.length === 0) continue;
    const longest = reached.reduce((a, b) => (length.get(b)! > length.get(a)! ? b : a));
    length.set(name, length.get(longest)! + 1);
    best.set(name, longest);
  }
  const successors = successorsOf(preds);
  const reachable = order.filter((n) => from.get(n)! > 0n);
  const sinks = reachable.filter((n) => !(successors.get(n) ?? []).some((s) => (from.get(s) ?? 0n) > 0n));
  const isSink = new Set(sinks);
  const to = new Map<string, bigint>();
  for (const name of [...reachable].reverse())
    to.set(name, isSink.has(name) ? 1n : (successors.get(name) ?? []).reduce((sum, s) => sum + (to.get(s) ?? 0n), 0n));
  const total = sinks.reduce((sum, n) => sum + from.get(n)!, 0n);
  const dominators = new Set(reachable.filter((n) => from.get(n)! * to.get(n)! === total));
  if (sinks.length === 0) return { path: [], dominators };
  // The deepest output; of equals, the last in the file (a classifier's head, not a side output).
  let end = sinks.reduce((a, b) => (length.get(b)! >= length.get(a)! ? b : a));
  const path: string[] = [end];
  while (best.get(end) !== undefined) {
    end = best.get(end)!;
    path.unshift(end);
  }
  return { path, dominators };
}

export function stageEnds(net: Net): NetLayer[] {
  const [inputHeight, inputWidth] = net.input;
  if (typeof inputHeight !== 'number' || typeof inputWidth !== 'number') return [];
  const byName = new Map(net.layers.map((l) => [l.name, l]));
  const { path, dominators } = mainPath(net);
  const ends: NetLayer[] = [];
  let run: NetLayer[] = [];
  let level: number | undefined;
  const position = new Map(net.layers.map((l, i) => [l.name, i]));
  // A run computes when a convolution at its resolution lies within it, on the main path or
  // beside it (a residual block's strided shortcut): its span in the model's order.
  const computes = (first: NetLayer, last: NetLayer, level: number) =>
    net.layers
      .slice(position.get(first.name), position.get(last.name)! + 1)
      .some((l) => l.role === 'conv' && isSpatial(l) && levelOf(l) === level);
  const levelOf = (layer: NetLayer): number | undefined => {
    const [h, w] = layer.mapShape!;
    return typeof h === 'number' && typeof w === 'number' && h * w > 1
      ? strideLevel([inputHeight, inputWidth], [h, w])
      : undefined;
  };
  const inside = insideResidualBlocks(net, path, (name) => {
    const layer = byName.get(name)!;
    return isSpatial(layer) && layer.role !== 'model' ? levelOf(layer) : undefined;
  });
  const close = () => {
    if (run.length === 0 || !computes(run[0], run[run.length - 1], level!)) return;
    const dominator = run.filter((l) => dominators.has(l.name)).pop();
    ends.push(dominator ?? run[run.length - 1]);
  };
  for (const layer of path.map((name) => byName.get(name)!)) {
    // A nested model's row stands for its last layer: its own layers, on the path too, count.
    if (!isSpatial(layer) || layer.role === 'pad' || layer.role === 'model' || inside.has(layer.name)) continue;
    const here = levelOf(layer);
    if (here === undefined) continue;
    if (here !== level) {
      close();
      level = here;
      run = [];
    }
    run.push(layer);
  }
  close();
  // Listed in the model's order, as the summary numbers them.
  return ends.sort((a, b) => position.get(a.name)! - position.get(b.name)!);
}

/**
 * The main path's layers inside a residual block that leaves its resolution and comes back: a
 * sum (its output as many channels as each input) of a main-path layer, as it is, and of what
 * the path computed from it at deeper resolutions, at the same resolution as that layer. U²-Net's RSU
 * blocks are such: a U-Net inside a residual block. The block counts at the resolution of its
 * ends, as a ResNet's block does, so its inner levels start no stages. A U-Net's own skips
 * concatenate (the channels add up): its levels stay stages.
 */
function insideResidualBlocks(net: Net, path: string[], levelOf: (name: string) => number | undefined): Set<string> {
  const byName = new Map(net.layers.map((l) => [l.name, l]));
  const at = new Map(path.map((name, i) => [name, i]));
  const channels = (name: string) => byName.get(name)?.mapShape?.[2];
  const inside = new Set<string>();
  path.forEach((name, j) => {
    const sum = byName.get(name)!;
    const level = levelOf(name);
    if (level === undefined || sum.inputs.length < 2) return;
    for (const source of sum.inputs) {
      // The block's entry, added back as it is (an identity shortcut: a skip through a
      // projection, as a feature pyramid's, joins two levels, and they stay stages).
      const i = at.get(source);
      if (i === undefined || i >= j - 1 || levelOf(source) !== level) continue;
      const elementwise = sum.inputs.every((k) => channels(k) === channels(name));
      const deeper = path.slice(i + 1, j).some((n) => (levelOf(n) ?? level) > level);
      if (elementwise && deeper) path.slice(i + 1, j).forEach((n) => inside.add(n));
    }
  });
  return inside;
}
