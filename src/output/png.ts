/**
 * Grey PNGs, encoded here rather than by libvips: every row Paeth-filtered and the rows deflated
 * run-length only, in WebAssembly (output/deflate.ts); where WebAssembly is missing, filtered in
 * JavaScript (render/scanlines.ts) and deflated by zlib's Z_RLE on Node.js's thread pool.
 * Feature-map mosaics, most of what cnnviz writes, are runs of equal bytes once filtered
 * (borders, dead maps, enlarged tiles): VGG16's five block mosaics of the tutorial's cat encoded
 * in 81 ms through zlib against libvips' 117 at zlib level 3 without filtering, into files 13%
 * smaller, and the WebAssembly deflate makes files of the same size (within 0.2%) in less than
 * half zlib's time (the measurements are in the README's speed section). Colour pictures (colour
 * maps, overlays, reports' text) gain from deflate's longer matches and stay with libvips.
 */
import { constants, crc32, deflate } from 'node:zlib';
import { promisify } from 'node:util';
import { paethScanlines } from '../render/scanlines.js';
import { greyIdat } from './deflate.js';
import type { PixelImage } from '../render/mosaic.js';

const deflateRows = promisify(deflate);

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** A grey, 8-bit, non-interlaced PNG of a one-channel image. */
export async function encodeGreyPng(image: PixelImage): Promise<Buffer> {
  if (image.channels !== 1) throw new Error(`encodeGreyPng takes one channel, not ${image.channels}`);
  const header = Buffer.alloc(13);
  header.writeUInt32BE(image.width, 0);
  header.writeUInt32BE(image.height, 4);
  // Bit depth 8, colour type 0 (grey); deflate, adaptive filtering (per-row types), no interlace.
  header.set([8, 0, 0, 0, 0], 8);
  const idat = greyIdat(image) ?? (await zlibIdat(image));
  return Buffer.concat([
    SIGNATURE,
    ...chunk('IHDR', header),
    ...chunk('IDAT', idat),
    ...chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** The image data where WebAssembly is missing: rows filtered in JavaScript, deflated by zlib on the thread pool. */
export function zlibIdat(image: PixelImage): Promise<Buffer> {
  const rows = paethScanlines(image);
  return deflateRows(rows, {
    strategy: constants.Z_RLE,
    // Larger deflate blocks: 0.2% smaller, no slower.
    memLevel: 9,
    // The whole output in one piece: in the default 16 KB pieces, each a round trip between the
    // thread pool and this thread, VGG16's largest mosaic took 75-138 ms against 41-47.
    chunkSize: rows.length + (rows.length >> 8) + 64,
  });
}

/** A PNG chunk's parts: its length and type, its data, and the CRC-32 of type and data. */
function chunk(type: string, data: Buffer): Buffer[] {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const tail = Buffer.alloc(4);
  tail.writeUInt32BE(crc32(data, crc32(head.subarray(4))), 0);
  return [head, data, tail];
}
