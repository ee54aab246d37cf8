import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { FIXTURES, ROOT } from '../helpers/paths.js';
import { pilNearestIndices, resizeArea, resizeImage, resizeNearest } from '../../src/image/resize.js';

test('nearest picks the source pixels PIL picks (451 and 300 to 224, 4 to 8)', () => {
  // Chelsea is 451x300; Keras' load_img(target_size=(224, 224)) samples these columns.
  const xs = pilNearestIndices(451, 224);
  expect(xs[0]).toBe(1);
  expect(xs[1]).toBe(3);
  expect(xs[223]).toBe(449);
  expect(Array.from(pilNearestIndices(300, 224).subarray(0, 4))).toEqual([0, 2, 3, 4]);
  expect(Array.from(pilNearestIndices(4, 8))).toEqual([0, 0, 1, 1, 2, 2, 3, 3]);
});

test('nearest resize copies whole RGB pixels from those positions', () => {
  const data = Uint8Array.from({ length: 4 * 1 * 3 }, (_, i) => i);
  const out = resizeNearest({ width: 4, height: 1, data }, 2, 1);
  // columns floor(0.5*2)=1 and floor(1.5*2)=3
  expect(Array.from(out.data)).toEqual([3, 4, 5, 9, 10, 11]);
});

test('area resize averages the covered source pixels', () => {
  const data = Uint8Array.from([0, 0, 0, 100, 100, 100, 50, 50, 50, 250, 250, 250]);
  const out = resizeArea({ width: 4, height: 1, data }, 2, 1);
  expect(Array.from(out.data)).toEqual([50, 50, 50, 150, 150, 150]);
});

test('bilinear resize goes through sharp and gives the requested size', async () => {
  const data = new Uint8Array(10 * 6 * 3).fill(77);
  const out = await resizeImage({ width: 10, height: 6, data }, 5, 3, 'bilinear');
  expect([out.width, out.height, out.data.length]).toEqual([5, 3, 45]);
  expect(out.data.every((v) => v === 77)).toBe(true);
});

/**
 * The sweep of all pairs, in a plain Node process on the built module: in jest's VM context the
 * 67 million picks take 50 s (its globals are slow to reach), in Node one.
 */
const SWEEP = `
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { pilNearestIndices } from './dist/image/resize.js';
const corrections = JSON.parse(gunzipSync(readFileSync('fixtures/pil/pil-nearest.json.gz')).toString('utf8'));
const expected = new Int32Array(512);
const mismatched = [];
for (let src = 1; src <= 512; src++)
  for (let dst = 1; dst <= 512; dst++) {
    for (let i = 0; i < dst; i++) expected[i] = Math.min(src - 1, Math.floor(((i + 0.5) * src) / dst));
    for (const c of corrections[src + ',' + dst] ?? []) expected[Math.abs(c) - 1] += Math.sign(c);
    const ours = pilNearestIndices(src, dst);
    for (let i = 0; i < dst; i++) if (ours[i] !== expected[i]) { mismatched.push(src + ',' + dst); break; }
  }
console.log(JSON.stringify({ pairs: 512 * 512, corrected: Object.keys(corrections).length, mismatched: mismatched.slice(0, 5), count: mismatched.length }));
`;

test("nearest picks PIL's source pixel at every pair of sizes from 1 to 512 (fixtures/pil, recorded from PIL)", () => {
  const corrections: Record<string, number[]> = JSON.parse(
    gunzipSync(readFileSync(join(FIXTURES, 'pil', 'pil-nearest.json.gz'))).toString('utf8'),
  );
  // The case the issue found: 300 rows to 385, PIL picks other rows at 38 and 115.
  expect(corrections['300,385'].map((c) => Math.abs(c) - 1)).toEqual(expect.arrayContaining([38, 115]));
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', SWEEP], { cwd: ROOT, encoding: 'utf8' });
  expect(JSON.parse(out)).toEqual({ pairs: 262144, corrected: 52370, mismatched: [], count: 0 });
});
