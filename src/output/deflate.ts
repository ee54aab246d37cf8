/**
 * A grey PNG's image data in WebAssembly: the rows Paeth-filtered (render/scanlines.ts's bytes,
 * sixteen pixels a step), then deflated run-length: the tokens zlib's Z_RLE strategy finds
 * (literal bytes, and runs of a byte repeating the one before it), coded per block of 1 MB with
 * Huffman codes built from the block's own counts (RFC 1951), in a zlib stream (RFC 1950).
 * deflate.wat does the passes over the bytes (tokens and their counts, sixteen bytes tested at
 * once; then the codes written without a branch on the bit count; the Adler-32); the codes and
 * the block headers are built here. On VGG16's block1 mosaic of the cat (3.3 MB of rows) it
 * takes 7-9 ms where zlib takes 19-24, for a file of the same size (0.02% smaller; the README's
 * speed section has the rest). A block whose codes would not beat its bytes is stored as it is.
 */
import { align16, growTo, instantiate, type WasmMemory } from '../wasm.js';
import { DEFLATE_WASM } from './deflate-wasm.js';

interface Kernels {
  memory: WasmMemory;
  tokenize(src: number, start: number, end: number, lenSym: number, hist: number, tokens: number): number;
  adler32(src: number, length: number): number;
  paeth(src: number, w: number, h: number, zero: number, out: number): void;
  begin(out: number): void;
  put(bits: number, n: number): void;
  putAll(list: number, count: number): void;
  emit(tokens: number, count: number, codes: number): void;
  stored(src: number, start: number, len: number): void;
  finish(): number;
}

let kernels: Kernels | null | undefined;

function load(): Kernels | null {
  if (kernels !== undefined) return kernels;
  // Without WebAssembly (or SIMD), grey PNGs are deflated by zlib (png.ts).
  kernels = instantiate<Kernels>(DEFLATE_WASM);
  return kernels;
}

/**
 * Bytes per block. A mosaic's statistics change little from tile row to tile row: VGG16's five
 * mosaics of the cat come out 0.05% smaller in 1 MB blocks than in 64 KB ones (block1's 3.3 MB
 * in 4 blocks against 51), and the codes built for each block cost time before the JIT has warmed.
 */
export const BLOCK_BYTES = 1 << 20;

/** tokenize's symbol counts come in four tables (see deflate.wat). */
const HIST_TABLES = 4;

/** The most a stored block holds (its length is 16 bits). */
const STORED_BYTES = 65535;

/** Bits of `length` bytes in stored blocks: each block's 3 header bits, up to 7 of padding, its length and complement. */
const storedBits = (length: number): number => 8 * length + 42 * Math.max(1, Math.ceil(length / STORED_BYTES));

/** RFC 1951, 3.2.5: the length symbols 257-285, each one's shortest run and its extra bits. */
const LENGTH_BASE = [
  3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258,
];
const LENGTH_EXTRA = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];

/** The length symbol (257-285) of a run of n bytes (3-258). */
export function lengthSymbol(n: number): number {
  let k = LENGTH_BASE.length - 1;
  while (LENGTH_BASE[k] > n) k--;
  return 257 + k;
}

/** Each run length's symbol (at 3-258). */
const LENGTH_SYMBOL = Uint32Array.from({ length: 259 }, (_, n) => (n < 3 ? 0 : lengthSymbol(n)));

/** RFC 1951, 3.2.7: the order in which the code-length code's lengths are sent. */
const CODE_LENGTH_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

/**
 * Huffman code lengths for symbol counts, none longer than `maxBits`: an optimal code, its
 * overlong codes then folded in as zlib's and miniz's encoders do (each code moved down to
 * `maxBits` paid for by lengthening the deepest shorter one). With fewer than two symbols
 * counted, two get a one-bit code, as decoders require a complete code.
 */
export function codeLengths(counts: ArrayLike<number>, maxBits: number): Uint8Array {
  const lengths = new Uint8Array(counts.length);
  // The counted symbols in ascending order of count, then symbol: count * 512 + symbol, sorted.
  const keys: number[] = [];
  for (let s = 0; s < counts.length; s++) if (counts[s] > 0) keys.push(counts[s] * 512 + s);
  if (keys.length < 2) {
    const first = keys.length === 1 ? keys[0] % 512 : 0;
    lengths[first] = 1;
    lengths[first === 0 ? 1 : 0] = 1;
    return lengths;
  }
  const sorted = Float64Array.from(keys).sort();
  const depths = huffmanDepths(sorted.map((key) => Math.floor(key / 512)));
  const perLength = new Array<number>(Math.max(maxBits, ...depths) + 1).fill(0);
  for (const d of depths) perLength[d]++;
  limitLengths(perLength, maxBits);
  // The rarest symbols take the longest codes.
  let next = 0;
  for (let bits = maxBits; bits >= 1; bits--)
    for (let k = 0; k < perLength[bits]; k++) lengths[sorted[next++] % 512] = bits;
  return lengths;
}

/** The leaves' depths in a Huffman tree of weights in ascending order (two queues, no heap). */
function huffmanDepths(weights: Float64Array): Int32Array {
  const m = weights.length;
  const weight = new Float64Array(2 * m - 1);
  const parent = new Int32Array(2 * m - 1);
  weight.set(weights);
  let leaf = 0;
  let inner = m;
  const smallest = (made: number): number =>
    leaf < m && (inner >= made || weight[leaf] <= weight[inner]) ? leaf++ : inner++;
  for (let node = m; node < 2 * m - 1; node++) {
    const a = smallest(node);
    const b = smallest(node);
    weight[node] = weight[a] + weight[b];
    parent[a] = node;
    parent[b] = node;
  }
  const depth = new Int32Array(2 * m - 1);
  for (let node = 2 * m - 3; node >= 0; node--) depth[node] = depth[parent[node]] + 1;
  return depth.subarray(0, m);
}

/** Counts of codes per length, made to fit `maxBits` while the code stays complete. */
function limitLengths(perLength: number[], maxBits: number): void {
  for (let bits = maxBits + 1; bits < perLength.length; bits++) {
    perLength[maxBits] += perLength[bits];
    perLength[bits] = 0;
  }
  let kraft = 0;
  for (let bits = 1; bits <= maxBits; bits++) kraft += perLength[bits] * 2 ** (maxBits - bits);
  for (; kraft > 2 ** maxBits; kraft--) {
    perLength[maxBits]--;
    for (let bits = maxBits - 1; bits > 0; bits--)
      if (perLength[bits] > 0) {
        perLength[bits]--;
        perLength[bits + 1] += 2;
        break;
      }
  }
}

/** Canonical codes for code lengths (RFC 1951, 3.2.2), bit-reversed as deflate sends them. */
export function canonicalCodes(lengths: Uint8Array): Uint32Array {
  const perLength = new Array<number>(16).fill(0);
  for (const bits of lengths) if (bits > 0) perLength[bits]++;
  const next = new Array<number>(16).fill(0);
  for (let bits = 1, code = 0; bits < 16; bits++) {
    code = (code + perLength[bits - 1]) << 1;
    next[bits] = code;
  }
  const codes = new Uint32Array(lengths.length);
  for (let s = 0; s < lengths.length; s++) if (lengths[s] > 0) codes[s] = reverse(next[lengths[s]]++, lengths[s]);
  return codes;
}

const reverse = (code: number, bits: number): number => {
  let out = 0;
  for (let k = 0; k < bits; k++) out |= ((code >> k) & 1) << (bits - 1 - k);
  return out;
};

/** Bits to send, in order: [value, count] pairs. */
type Bits = Array<[number, number]>;

/**
 * A dynamic block's header after its first three bits (RFC 1951, 3.2.7): the literal/length
 * and distance code lengths, run-length coded, in a code of their own.
 */
export function dynamicHeader(litLengths: Uint8Array, distLengths: Uint8Array): Bits {
  let nlit = litLengths.length;
  while (nlit > 257 && litLengths[nlit - 1] === 0) nlit--;
  let ndist = distLengths.length;
  while (ndist > 1 && distLengths[ndist - 1] === 0) ndist--;
  const runs = lengthRuns([...litLengths.subarray(0, nlit), ...distLengths.subarray(0, ndist)]);
  const counts = new Array<number>(19).fill(0);
  for (const [symbol] of runs) counts[symbol]++;
  const clLengths = codeLengths(counts, 7);
  const clCodes = canonicalCodes(clLengths);
  let ncl = 19;
  while (ncl > 4 && clLengths[CODE_LENGTH_ORDER[ncl - 1]] === 0) ncl--;
  const bits: Bits = [
    [nlit - 257, 5],
    [ndist - 1, 5],
    [ncl - 4, 4],
  ];
  for (let k = 0; k < ncl; k++) bits.push([clLengths[CODE_LENGTH_ORDER[k]], 3]);
  const extra: Record<number, number> = { 16: 2, 17: 3, 18: 7 };
  for (const [symbol, value] of runs) {
    bits.push([clCodes[symbol], clLengths[symbol]]);
    if (symbol >= 16) bits.push([value, extra[symbol]]);
  }
  return bits;
}

/** Code lengths as the code-length alphabet sends them: 0-15 as themselves, 16 repeats the last 3-6 times, 17 and 18 are 3-10 and 11-138 zeros. */
export function lengthRuns(lengths: number[]): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let i = 0; i < lengths.length;) {
    const value = lengths[i];
    let run = 1;
    while (i + run < lengths.length && lengths[i + run] === value) run++;
    i += run;
    if (value === 0) {
      for (; run >= 11; run -= Math.min(run, 138)) out.push([18, Math.min(run, 138) - 11]);
      if (run >= 3) {
        out.push([17, run - 3]);
        run = 0;
      }
    } else {
      out.push([value, 0]);
      run--;
      for (; run >= 3; run -= Math.min(run, 6)) out.push([16, Math.min(run, 6) - 3]);
    }
    for (; run > 0; run--) out.push([value, 0]);
  }
  return out;
}

/**
 * Memory for the stream's tables, an image to filter (a zero row above its first, then the
 * image, each with 16 bytes to spare on either side, as paeth reads whole vectors), its rows
 * (`length` bytes) and its output; offsets, or undefined where the memory cannot grow.
 */
function layout(module: Kernels, length: number, width = 0, height = 0) {
  const lenSym = 0;
  const hist = lenSym + 259 * 4;
  const codes = hist + HIST_TABLES * 288 * 4;
  const header = codes + 515 * 4;
  // A header's pairs: at most 3 + 19, and 2 for each of 288 + 32 code lengths.
  const zero = align16(header + 8 * 666) + 16;
  const image = align16(zero + width + 16) + 16;
  const src = align16(image + width * height + 16);
  const tokens = align16(src + length + 16);
  const out = align16(tokens + 2 * Math.min(length, BLOCK_BYTES));
  // Stored blocks bound the output: 5 bytes a block and a padding byte, the zlib header, the writer's last word.
  const end = out + length + 6 * Math.ceil(length / STORED_BYTES) + 64;
  return growTo(module.memory, end) ? { lenSym, hist, codes, header, zero, image, src, tokens, out } : undefined;
}

type Layout = NonNullable<ReturnType<typeof layout>>;

/** A grey image, as the PNG encoder takes it. */
interface GreyImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/**
 * The zlib stream of a grey image's Paeth-filtered rows: a PNG's IDAT, filtered and deflated
 * in the module's memory (the rows never leave it); undefined without WebAssembly or its memory.
 */
export function greyIdat(image: GreyImage): Buffer | undefined {
  const rows = filtered(image);
  return rows && deflateAt(rows.module, rows.at, rows.length);
}

/** A grey image's Paeth-filtered rows as greyIdat deflates them (render/scanlines.ts's bytes); undefined without WebAssembly. */
export function paethRows(image: GreyImage): Uint8Array | undefined {
  const rows = filtered(image);
  return rows && new Uint8Array(rows.module.memory.buffer, rows.at.src, rows.length).slice();
}

/** The zlib stream of `data` as it is, or undefined without WebAssembly or its memory. */
export function deflateRuns(data: Uint8Array): Buffer | undefined {
  const module = load();
  const at = module && layout(module, data.length);
  if (!module || !at) return undefined;
  new Uint8Array(module.memory.buffer).set(data, at.src);
  return deflateAt(module, at, data.length);
}

/** The image into the module's memory below a zero row, and its filtered rows (`length` bytes) to `src`; undefined without WebAssembly or its memory. */
function filtered({ width, height, data }: GreyImage): { module: Kernels; at: Layout; length: number } | undefined {
  const module = load();
  const length = (width + 1) * height;
  const at = module && layout(module, length, width, height);
  if (!module || !at) return undefined;
  const memory = new Uint8Array(module.memory.buffer);
  memory.fill(0, at.zero - 16, at.zero + width + 16);
  memory.set(data, at.image);
  module.paeth(at.image, width, height, at.zero, at.src);
  return { module, at, length };
}

/** The zlib stream of the `length` bytes at `src`. */
function deflateAt(module: Kernels, at: Layout, length: number): Buffer {
  const { buffer } = module.memory;
  new Uint32Array(buffer, at.lenSym, 259).set(LENGTH_SYMBOL);
  const tables = new Uint32Array(buffer, at.hist, HIST_TABLES * 288);
  const counts = new Uint32Array(286);
  module.begin(at.out);
  // CMF 0x78 (deflate, 32 KB window), FLG 0x01 (fastest; the check bits make 0x7801 a multiple of 31).
  module.put(0x0178, 16);
  const codes = new Uint32Array(buffer, at.codes, 515);
  for (let start = 0; start < length || start === 0; start += BLOCK_BYTES) {
    const end = Math.min(start + BLOCK_BYTES, length);
    const final = end === length ? 1 : 0;
    tables.fill(0);
    const count = module.tokenize(at.src, start, end, at.lenSym, at.hist, at.tokens);
    for (let s = 0; s < 286; s++) counts[s] = tables[s] + tables[288 + s] + tables[2 * 288 + s] + tables[3 * 288 + s];
    counts[256] = 1;
    const block = dynamicBlock(counts);
    if (3 + block.bits <= storedBits(end - start)) {
      module.put(final | (2 << 1), 3);
      const pairs = new Uint32Array(buffer, at.header, 2 * block.header.length);
      block.header.forEach(([value, n], k) => pairs.set([value, n], 2 * k));
      module.putAll(at.header, block.header.length);
      codes.set(block.codes);
      module.emit(at.tokens, count, at.codes);
    } else {
      for (let from = start; from < end || from === start; from += STORED_BYTES) {
        const to = Math.min(from + STORED_BYTES, end);
        module.put(to === end ? final : 0, 3);
        module.stored(at.src, from, to - from);
      }
    }
    if (final) break;
  }
  const adler = module.adler32(at.src, length);
  const stop = module.finish();
  const stream = Buffer.allocUnsafe(stop - at.out + 4);
  stream.set(new Uint8Array(buffer, at.out, stop - at.out));
  stream.writeUInt32BE(adler >>> 0, stop - at.out);
  return stream;
}

/**
 * A block's Huffman codes from its symbol counts: the header that sends them, the emit table
 * (deflate.wat's `codes`) and the block's size in bits after its first three.
 */
function dynamicBlock(hist: Uint32Array): { header: Bits; codes: Uint32Array; bits: number } {
  const litLengths = codeLengths(hist, 15);
  const litCodes = canonicalCodes(litLengths);
  // Every run is at distance 1, distance code 0; a second code keeps the distance code complete.
  const distLengths = Uint8Array.of(1, 1);
  const header = dynamicHeader(litLengths, distLengths);
  let bits = header.reduce((sum, [, n]) => sum + n, 0);
  const codes = new Uint32Array(515);
  for (let s = 0; s <= 256; s++) {
    codes[s] = litCodes[s] | (litLengths[s] << 24);
    bits += hist[s] * litLengths[s];
  }
  for (let s = 257; s < 286; s++) bits += hist[s] * (litLengths[s] + LENGTH_EXTRA[s - 257] + 1);
  for (let n = 3; n <= 258; n++) {
    const s = LENGTH_SYMBOL[n];
    const extra = LENGTH_EXTRA[s - 257];
    // The length code, its extra bits (the run past the symbol's base), the distance code's one 0 bit.
    const value = litCodes[s] | ((n - LENGTH_BASE[s - 257]) << litLengths[s]);
    codes[256 + n] = value | ((litLengths[s] + extra + 1) << 24);
  }
  return { header, codes, bits };
}
