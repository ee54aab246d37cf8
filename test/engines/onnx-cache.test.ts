import { mkdirSync, mkdtempSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findCachedOnnx, MAX_CACHED_MODELS, onnxCacheKey, reserveCacheEntry } from '../../src/engines/onnx-cache.js';

test('keys change with anything the prepared model depends on', () => {
  const base = { translator: 1, ort: '1.30.0', weights: 'w', outputs: ['a'] };
  expect(onnxCacheKey(base)).toBe(onnxCacheKey({ ...base }));
  expect(onnxCacheKey(base)).not.toBe(onnxCacheKey({ ...base, outputs: ['b'] }));
  expect(onnxCacheKey(base)).not.toBe(onnxCacheKey({ ...base, weights: 'w2' }));
  expect(onnxCacheKey(base)).toMatch(/^[0-9a-f]{32}$/);
});

test("an entry appears whole on commit, the oldest beyond the limit and dead runs' half-written folders go", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cnnviz-onnx-cache-'));
  const keys = Array.from({ length: MAX_CACHED_MODELS + 1 }, (_, i) => onnxCacheKey({ i }));
  mkdirSync(join(dir, '.cnnviz-tmp-999999-0a1b2c3d-dead'));
  // A user's folder of the old leftover shape is not cnnviz's to remove.
  mkdirSync(join(dir, 'mine.999999.tmp'));
  for (const [i, key] of keys.entries()) {
    const entry = await reserveCacheEntry(dir, key);
    expect(await findCachedOnnx(dir, key)).toBeUndefined();
    writeFileSync(join(entry.folder, 'model.onnx'), 'm');
    writeFileSync(join(entry.folder, 'weights.bin'), 'w');
    await entry.commit();
    utimesSync(join(dir, key), new Date(1000 * (i + 1)), new Date(1000 * (i + 1)));
  }
  // The last commit pruned with the times as they were then; one more commit prunes again.
  const extra = await reserveCacheEntry(dir, onnxCacheKey({ extra: true }));
  writeFileSync(join(extra.folder, 'model.onnx'), 'm');
  writeFileSync(join(extra.folder, 'weights.bin'), 'w');
  await extra.commit();
  const left = readdirSync(dir);
  expect(left.sort()).toEqual([...keys.slice(2), onnxCacheKey({ extra: true }), 'mine.999999.tmp'].sort());
  expect(left).not.toContain(keys[0]);
  expect(await findCachedOnnx(dir, keys[keys.length - 1])).toEqual({
    model: join(dir, keys[keys.length - 1], 'model.onnx'),
  });
});
