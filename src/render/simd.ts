/**
 * The kernels of simd.wat, compiled once: channel statistics and grey mosaic painting, four
 * channels at a time, bit for bit what featuremaps.ts computes in JavaScript (which it falls
 * back to where WebAssembly SIMD is missing). The activation passes through the module's memory
 * a window at a time; the memory grows to the largest mosaic and stays.
 */
import { align16, growTo, instantiate, type WasmMemory } from '../wasm.js';
import { SIMD_WASM } from './simd-wasm.js';

interface Exports {
  memory: WasmMemory;
  stats(act: number, pixels: number, c: number, min: number, max: number, sum: number, bad: number): void;
  paintRow(
    act: number,
    row: number,
    w: number,
    c: number,
    n: number,
    chan: number,
    low: number,
    inv: number,
    origin: number,
    out: number,
    scale: number,
  ): void;
  widen(out: number, origin: number, n: number, w: number, h: number, width: number, scale: number): void;
}

let kernels: Exports | null | undefined;

function load(): Exports | null {
  if (kernels !== undefined) return kernels;
  // A runtime without SIMD (or without WebAssembly) draws with the JavaScript kernels.
  kernels = instantiate<Exports>(SIMD_WASM);
  return kernels;
}

/** Whether the WebAssembly kernels run here. */
export const simdAvailable = (): boolean => load() !== null;

/**
 * The activation goes through the module's memory a window of pixels at a time (about 256 KB),
 * so that its memory holds the window and the mosaic, never a copy of the whole layer.
 */
const WINDOW_BYTES = 256 * 1024;
/** Where the window starts; what follows it is laid out per call. */
const WINDOW = 64;

/** Beyond this (a grey mosaic of over 100 megapixels), a layer is drawn in JavaScript. */
const MAX_BYTES = 128 * 1024 * 1024;

/** Whole pixels (of `channels` values) in a window, and at least one. */
const windowPixels = (channels: number): number => Math.max(1, Math.floor(WINDOW_BYTES / (channels * 4)));

/**
 * Memory for a window of `windowBytes` and `extra` bytes after it; returns the offset after
 * the window, or undefined where the memory would be too large or cannot grow.
 */
function reserve(module: Exports, windowBytes: number, extra: number): number | undefined {
  const end = align16(WINDOW + windowBytes);
  const needed = end + extra;
  if (needed > MAX_BYTES) return undefined;
  return growTo(module.memory, needed) ? end : undefined;
}

/** Copies values [from, to) of the activation into the window. */
function fill(module: Exports, activation: Float32Array, from: number, to: number): void {
  new Float32Array(module.memory.buffer, WINDOW, to - from).set(activation.subarray(from, to));
}

/** Per channel: min and max of the finite values, their sum (in float64, in pixel order), the count of the others. */
export interface ChannelSums {
  min: Float32Array;
  max: Float32Array;
  sum: Float64Array;
  nonFinite: Uint32Array;
}

/** ChannelSums over a channels-last activation; undefined without the kernels. */
export function statsInWasm(activation: Float32Array, channels: number): ChannelSums | undefined {
  const module = load();
  if (!module) return undefined;
  const step = windowPixels(channels);
  const min = reserve(
    module,
    step * channels * 4,
    align16(channels * 4) * 2 + align16(channels * 8) + align16(channels * 4),
  );
  if (min === undefined) return undefined;
  const max = min + align16(channels * 4);
  const sum = max + align16(channels * 4);
  const bad = sum + align16(channels * 8);
  const { buffer } = module.memory;
  new Float32Array(buffer, min, channels).fill(Infinity);
  new Float32Array(buffer, max, channels).fill(-Infinity);
  new Float64Array(buffer, sum, channels).fill(0);
  new Uint32Array(buffer, bad, channels).fill(0);
  const pixels = activation.length / channels;
  // Window after window, each pixel's values added in order: the sums are those of one pass.
  for (let p = 0; p < pixels; p += step) {
    const count = Math.min(step, pixels - p);
    fill(module, activation, p * channels, (p + count) * channels);
    module.stats(WINDOW, count, channels, min, max, sum, bad);
  }
  return {
    min: new Float32Array(buffer, min, channels).slice(),
    max: new Float32Array(buffer, max, channels).slice(),
    sum: new Float64Array(buffer, sum, channels).slice(),
    nonFinite: new Uint32Array(buffer, bad, channels).slice(),
  };
}

/** Where each tile reads (its channel) and how it scales its values, as mapMosaic lays them out. */
export interface GreyTiles {
  channel: Int32Array;
  low: Float64Array;
  /** 256 / (max - min), or 0 for a constant map. */
  inverse256: Float64Array;
  /** Each tile's first byte in the mosaic. */
  origin: Int32Array;
}

/**
 * The grey mosaic's bytes (width x height, 255 between tiles), each tile's pixels enlarged to
 * `scale` x `scale` (a view of the module's memory, valid until its next call); undefined
 * without the kernels.
 */
export function paintGreyInWasm(
  activation: Float32Array,
  [h, w, c]: [number, number, number],
  tiles: GreyTiles,
  mosaic: { width: number; height: number; scale: number },
): Uint8Array | undefined {
  const module = load();
  if (!module) return undefined;
  const n = tiles.channel.length;
  const rows = Math.max(1, Math.floor(windowPixels(c) / w));
  const chan = reserve(
    module,
    rows * w * c * 4,
    align16(n * 4) * 2 + align16(n * 8) * 2 + mosaic.width * mosaic.height,
  );
  if (chan === undefined) return undefined;
  const low = chan + align16(n * 4);
  const inv = low + align16(n * 8);
  const origin = inv + align16(n * 8);
  const out = origin + align16(n * 4);
  const { buffer } = module.memory;
  new Int32Array(buffer, chan, n).set(tiles.channel);
  new Float64Array(buffer, low, n).set(tiles.low);
  new Float64Array(buffer, inv, n).set(tiles.inverse256);
  new Int32Array(buffer, origin, n).set(tiles.origin);
  const data = new Uint8Array(buffer, out, mosaic.width * mosaic.height).fill(255);
  for (let top = 0; top < h; top += rows) {
    const count = Math.min(rows, h - top);
    fill(module, activation, top * w * c, (top + count) * w * c);
    for (let y = 0; y < count; y++)
      module.paintRow(
        WINDOW,
        y * w * c,
        w,
        c,
        n,
        chan,
        low,
        inv,
        origin,
        out + (top + y) * mosaic.scale * mosaic.width,
        mosaic.scale,
      );
  }
  if (mosaic.scale > 1) module.widen(out, origin, n, w, h, mosaic.width, mosaic.scale);
  return data;
}
