/**
 * A grey image's rows as PNG encodes them: each row a filter-type byte and the row filtered.
 * cnnviz uses the Paeth filter (type 4) on every row: it predicts a pixel from its left, upper
 * and upper-left neighbours, so a mosaic's flat borders, dead maps and enlarged tiles (whose
 * pixels repeat across and down) become runs of zeros that run-length deflate codes in a few
 * bits (see output/png.ts). The PNG encoder filters in WebAssembly (output/deflate.wat), to
 * the same bytes; this is its reference, and its fallback where WebAssembly is missing.
 */

/** The Paeth-filtered scanlines of a grey image (width x height bytes, row-major). */
export function paethScanlines({
  width,
  height,
  data,
}: {
  width: number;
  height: number;
  data: Uint8Array;
}): Uint8Array {
  const stride = width + 1;
  const out = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) {
    out[y * stride] = 4;
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      const a = x > 0 ? data[i - 1] : 0;
      const b = y > 0 ? data[i - width] : 0;
      const c = x > 0 && y > 0 ? data[i - width - 1] : 0;
      out[y * stride + 1 + x] = (data[i] - paethPredictor(a, b, c)) & 255;
    }
  }
  return out;
}

/** The PNG specification's PaethPredictor: the neighbour nearest a + b - c, ties to a, then b. */
export function paethPredictor(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  if (pa <= pb && pa <= pc) return a;
  return pb <= pc ? b : c;
}
