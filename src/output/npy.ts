/**
 * NumPy .npy (format 1.0) for float32 arrays, so raw activations open with `np.load`.
 * No maintained npm package writes .npy (npyjs only reads), hence this small writer.
 */

const MAGIC = [0x93, ...Array.from('NUMPY', (c) => c.charCodeAt(0))];

export function npyBytes(data: Float32Array, shape: readonly number[]): Uint8Array {
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(', ');
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${dims}), }`;
  // The header, with magic and lengths, is padded with spaces to a multiple of 64 and ends in \n.
  const prefix = MAGIC.length + 2 + 2;
  const total = Math.ceil((prefix + header.length + 1) / 64) * 64;
  header = header.padEnd(total - prefix - 1, ' ') + '\n';
  const out = new Uint8Array(total + data.byteLength);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(
    Array.from(header, (c) => c.charCodeAt(0)),
    prefix,
  );
  const body = new DataView(out.buffer, total);
  for (let i = 0; i < data.length; i++) body.setFloat32(i * 4, data[i], true);
  return out;
}
