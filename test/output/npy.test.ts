import { npyBytes } from '../../src/output/npy.js';
import { parseNpy } from '../helpers/npy.js';

test('the header is NumPy format 1.0, <f4, C order, padded to 64 bytes with a newline', () => {
  const bytes = npyBytes(new Float32Array(2 * 3 * 4), [2, 3, 4]);
  expect(Array.from(bytes.subarray(0, 8))).toEqual([0x93, 78, 85, 77, 80, 89, 1, 0]);
  const headerLength = bytes[8] | (bytes[9] << 8);
  expect((10 + headerLength) % 64).toBe(0);
  const header = new TextDecoder().decode(bytes.subarray(10, 10 + headerLength));
  expect(header).toMatch(/^\{'descr': '<f4', 'fortran_order': False, 'shape': \(2, 3, 4\), \} *\n$/);
  expect(bytes.length).toBe(10 + headerLength + 2 * 3 * 4 * 4);
});

test('values round-trip exactly, one-dimensional shapes keep their trailing comma', () => {
  const data = Float32Array.of(1.5, -0.25, 3e-8, 1e30);
  const parsed = parseNpy(npyBytes(data, [4]));
  expect(parsed.shape).toEqual([4]);
  expect(parsed.descr).toBe('<f4');
  expect(Array.from(parsed.data)).toEqual(Array.from(data));
  expect(new TextDecoder().decode(npyBytes(data, [4]).subarray(10, 80))).toContain("'shape': (4,)");
});
