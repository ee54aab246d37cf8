/**
 * Receptive fields: the input pixels a layer's output position sees, from the windows of the
 * layers on its way (Araujo, Norris and Sim, "Computing receptive fields of convolutional
 * neural networks", Distill 2019). Along each axis the field is an arithmetic grid: position i
 * sees input pixels [offset + i * jump, offset + i * jump + size), before clipping to the image.
 * Where paths meet (additions, concatenations) the larger field is kept, as the paper does.
 */
import { usageError } from '../errors.js';
import { samePadding } from './geometry.js';
import type { Dim, LayerWindow, Net, NetLayer } from './net.js';

export interface AxisField {
  /** Input pixels between neighbouring output positions. */
  jump: number;
  /** Input pixels one output position sees. */
  size: number;
  /** Where position 0's field starts (negative: in the padding). */
  offset: number;
}

export interface ReceptiveField {
  y: AxisField;
  x: AxisField;
}

/** [x0, y0, x1, y1]: columns x0 to x1 - 1 and rows y0 to y1 - 1. */
export type Box = [x0: number, y0: number, x1: number, y1: number];

const PIXEL: AxisField = { jump: 1, size: 1, offset: 0 };

/** One axis through a window, over an input `length` pixels long (needed for 'same' padding only). */
export function throughWindow(field: AxisField, window: LayerWindow, axis: 0 | 1, length: Dim): AxisField {
  const k = window.kernel[axis];
  const s = window.strides[axis];
  const d = window.dilations[axis];
  const span = d * (k - 1) + 1;
  let before: number;
  if (window.padding === 'valid') before = 0;
  else if (window.padding === 'same') {
    if (length === null) throw new Error("a 'same' window over an input of undefined size");
    before = samePadding(length, k, s, d)[0];
  } else before = window.padding[axis];
  return {
    jump: field.jump * s,
    size: field.size + (span - 1) * field.jump,
    offset: field.offset - before * field.jump,
  };
}

/** The larger of two fields meeting at a merge. */
const larger = (a: AxisField, b: AxisField): AxisField => (b.size > a.size ? b : a);

/**
 * The receptive field of `target`'s output positions in the network's input. Throws a usage
 * error naming the first layer on the way whose effect on positions cnnviz does not know (one
 * that changes the map size without a window: an upsampling, a resize).
 */
export function receptiveField(net: Net, target: string): ReceptiveField {
  const byName = new Map(net.layers.map((l) => [l.name, l]));
  const fields = new Map<string, ReceptiveField>();
  const [inputH, inputW] = net.input;
  const sizeOf = (layer: NetLayer | undefined): [Dim, Dim] =>
    layer?.mapShape ? [layer.mapShape[0], layer.mapShape[1]] : [inputH, inputW];

  const fieldOf = (name: string): ReceptiveField => {
    const known = fields.get(name);
    if (known) return known;
    const layer = byName.get(name)!;
    // Inputs that are not maps (Clip's bounds, a Mul's scalar) move no pixel: they take no part,
    // as long as a map feeds the layer too.
    const fed = layer.inputs.filter((i) => byName.has(i));
    const maps = fed.filter((i) => !isNotMap(byName.get(i)!));
    const inputs = maps.length ? maps : fed;
    let field: ReceptiveField;
    if (layer.role === 'model') {
      // A nested model's output is its last inner layer's.
      const inner = net.layers.filter((l) => l.depth === layer.depth + 1 && l.name.startsWith(`${layer.name}/`));
      field = inner.length ? fieldOf(inner[inner.length - 1].name) : { y: PIXEL, x: PIXEL };
    } else {
      const merged = inputs.length
        ? inputs.map(fieldOf).reduce((a, b) => ({ y: larger(a.y, b.y), x: larger(a.x, b.x) }))
        : { y: PIXEL, x: PIXEL };
      const [h, w] = sizeOf(inputs.length ? byName.get(inputs[0]) : undefined);
      if (layer.window) {
        try {
          field = { y: throughWindow(merged.y, layer.window, 0, h), x: throughWindow(merged.x, layer.window, 1, w) };
        } catch (err) {
          throw usageError(
            `cannot follow the receptive field of '${target}' through '${layer.name}' (${layer.type}): ${(err as Error).message}`,
          );
        }
      } else if (layer.role === 'conv' || !keepsPositions(layer, [h, w])) {
        const change = layer.mapShape
          ? `: it turns ${h}x${w} maps into ${layer.mapShape[0]}x${layer.mapShape[1]} by a rule cnnviz does not know`
          : ': its output is not a map';
        throw usageError(
          `cannot follow the receptive field of '${target}' through '${layer.name}' (${layer.type})${change}`,
        );
      } else field = merged;
    }
    fields.set(name, field);
    return field;
  };
  return fieldOf(target);
}

/** A layer whose output is known to be no map: a scalar, a vector, a matrix (batch included). */
const isNotMap = (layer: NetLayer): boolean => layer.outputShape !== undefined && layer.outputShape.length < 3;

/** Layers without a window keep positions when the map keeps its size (activations, normalisation, sums, concatenations). */
function keepsPositions(layer: NetLayer, [h, w]: [Dim, Dim]): boolean {
  if (layer.role === 'input') return true;
  return layer.mapShape !== undefined && layer.mapShape[0] === h && layer.mapShape[1] === w;
}

/** The input pixels output position (y, x) sees, clipped to an input of width x height. */
export function fieldBox(field: ReceptiveField, y: number, x: number, [width, height]: [number, number]): Box {
  const from = (f: AxisField, i: number) => f.offset + i * f.jump;
  const clip = (v: number, max: number) => Math.min(max, Math.max(0, v));
  return [
    clip(from(field.x, x), width),
    clip(from(field.y, y), height),
    clip(from(field.x, x) + field.x.size, width),
    clip(from(field.y, y) + field.y.size, height),
  ];
}

/** A box in an image of `from` (width, height) carried to the same image at `to`, widened to whole pixels. */
export function scaleBox([x0, y0, x1, y1]: Box, [fromW, fromH]: [number, number], [toW, toH]: [number, number]): Box {
  const sx = toW / fromW;
  const sy = toH / fromH;
  const left = Math.min(toW - 1, Math.floor(x0 * sx));
  const top = Math.min(toH - 1, Math.floor(y0 * sy));
  return [
    left,
    top,
    Math.max(left + 1, Math.min(toW, Math.ceil(x1 * sx))),
    Math.max(top + 1, Math.min(toH, Math.ceil(y1 * sy))),
  ];
}
