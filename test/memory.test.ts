/**
 * letGo: large arrays' memory is freed at the call, by Node.js' own count of array-buffer
 * memory (no collection runs in between); small ones, pooled Buffers and WebAssembly memory
 * are left as they were.
 */
import { letGo } from '../src/memory.js';

const MB = 1024 * 1024;
// WebAssembly's types come with the DOM's, not Node's: the one constructor used here.
const { Memory } = (
  globalThis as unknown as { WebAssembly: { Memory: new (size: { initial: number }) => { buffer: ArrayBuffer } } }
).WebAssembly;
const arrayBuffers = () => process.memoryUsage().arrayBuffers;

test('large arrays are emptied and their memory freed at the call, views on one buffer freed once', () => {
  const a = new Float32Array(8 * MB).fill(1); // 32 MB
  const b = new Uint8Array(16 * MB).fill(2);
  const view = a.subarray(10, 20);
  const before = arrayBuffers();
  letGo([a, view, b]);
  // 48 MB fewer at once; the margin allows for anything else allocated meanwhile.
  expect(before - arrayBuffers()).toBeGreaterThan(47 * MB);
  expect([a.length, view.length, b.length, a.buffer.byteLength]).toEqual([0, 0, 0, 0]);
});

test('small arrays, pooled Buffers and WebAssembly memory are left to the collector, still readable', () => {
  const small = new Float32Array([1, 2, 3]);
  const pooled = Buffer.from('cnnviz');
  const memory = new Memory({ initial: 8 }); // 512 KB, above the size let go
  const wasm = new Uint8Array(memory.buffer, 0, 4).fill(7);
  const large = new Uint8Array(MB).fill(3);
  letGo([small, pooled, wasm, large]);
  expect(Array.from(small)).toEqual([1, 2, 3]);
  expect(pooled.toString()).toBe('cnnviz');
  expect(Array.from(wasm)).toEqual([7, 7, 7, 7]);
  expect(memory.buffer.byteLength).toBe(8 * 65536);
  // One that cannot go does not keep the others.
  expect(large.length).toBe(0);
});

test('nothing to let go is no error', () => {
  expect(() => letGo([])).not.toThrow();
  const gone = new Uint8Array(MB);
  letGo([gone]);
  expect(() => letGo([gone])).not.toThrow();
});
