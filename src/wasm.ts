/**
 * cnnviz's WebAssembly modules (the feature-map kernels; the grey PNG's filter and deflate) are
 * embedded as base64 and instantiated once, synchronously, each by its first use.
 */

/** The little of the WebAssembly API used here (its types come with the DOM's, not Node's). */
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: unknown };
}

/**
 * The exports of the module in `base64`, or null where it does not validate: a runtime without
 * WebAssembly, or without an instruction set the module uses (SIMD); callers then fall back.
 */
export function instantiate<Exports>(base64: string): Exports | null {
  const bytes = Uint8Array.from(Buffer.from(base64, 'base64'));
  const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  return wasm?.validate(bytes) ? (new wasm.Instance(new wasm.Module(bytes)).exports as Exports) : null;
}

/** `offset` rounded up to a whole 16 bytes, where a SIMD kernel's vectors start. */
export const align16 = (offset: number): number => Math.ceil(offset / 16) * 16;

/** A module's memory, as much as this code touches of it. */
export interface WasmMemory {
  buffer: ArrayBuffer;
  grow(pages: number): number;
}

/** Grows `memory` to at least `bytes`; false where it cannot grow that far (it keeps what it has). */
export function growTo(memory: WasmMemory, bytes: number): boolean {
  if (memory.buffer.byteLength >= bytes) return true;
  try {
    memory.grow(Math.ceil((bytes - memory.buffer.byteLength) / 65536));
    return true;
  } catch {
    return false;
  }
}
