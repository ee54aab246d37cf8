/**
 * Large buffers given back at once. A typed array's memory is freed by the garbage collection
 * that finds it unreferenced, which for a few large arrays can be many passes later: ONNX
 * Runtime's outputs are a fresh 24 MB a VGG16 pass, and left to the collector they pile up, so
 * that every pass writes into new pages, each a page fault the kernel zeroes first (16 images:
 * 133,000-155,000 faults and 0.44-1.20 s of system time, against 98,000-104,000 and 0.24-0.32 s
 * given back).
 */
import { MessageChannel, type MessagePort } from 'node:worker_threads';

/**
 * Below this a buffer is left to the collector: the allocator recycles small blocks itself, and
 * Node.js' pooled Buffers (under 4 KB, slices of one shared buffer) are never let go.
 */
const LARGE = 256 * 1024;

/** A port closed at once: a message posted to it is dropped as it is posted, its buffers with it. */
let drain: MessagePort | undefined;

/**
 * Frees the memory of arrays nothing will read again, now rather than at a later collection:
 * their buffers are transferred into a message that a closed port drops, which detaches them
 * (any view on them reads as empty from now on) and frees their memory at once. Only for
 * arrays the caller owns whole: every view on the same buffer is emptied with it.
 */
export function letGo(arrays: Iterable<ArrayBufferView>): void {
  const buffers = new Set<ArrayBuffer>();
  for (const array of arrays)
    if (array.buffer instanceof ArrayBuffer && array.buffer.byteLength >= LARGE) buffers.add(array.buffer);
  if (buffers.size === 0) return;
  if (!drain) {
    drain = new MessageChannel().port1;
    drain.close();
  }
  for (const buffer of buffers) {
    try {
      drain.postMessage(null, [buffer]);
    } catch (err) {
      // One that cannot be transferred is left to the collector, as every buffer was before.
      if (!(err instanceof DOMException && err.name === 'DataCloneError')) throw err;
    }
  }
}
