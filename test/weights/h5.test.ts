import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openKerasWeights, superblockEnd } from '../../src/weights/h5.js';
import { cnnviz } from '../helpers/cli.js';
import { writeKerasH5 } from '../helpers/keras-h5.js';
import { FIXTURES } from '../helpers/paths.js';

const H5_FIXTURES = join(FIXTURES, 'keras-h5');

/** The kernel make_fixtures.py writes: (i*3 + j + 1) * (c + 1) * (+1 | -1) / 10. */
function expectedKernel(): number[] {
  const out: number[] = [];
  for (let i = 0; i < 3; i++)
    for (let j = 0; j < 3; j++)
      for (let c = 0; c < 3; c++)
        for (let f = 0; f < 2; f++) out.push(Math.fround(((i * 3 + j + 1) * (c + 1) * (f === 0 ? 1 : -1)) / 10));
  return out;
}

test('reads a file h5py wrote as Keras does: fixed-length byte strings, nested weight names', async () => {
  const file = await openKerasWeights(join(H5_FIXTURES, 'tiny_conv.h5'));
  expect(file.layerNames).toEqual(['input_1', 'conv', 'pool']);
  const weights = file.read();
  file.close();
  expect(weights.get('pool')).toEqual([]);
  const [kernel, bias] = weights.get('conv')!;
  expect(kernel.name).toBe('conv/kernel:0');
  expect(kernel.shape).toEqual([3, 3, 3, 2]);
  expect(Array.from(kernel.data)).toEqual(expectedKernel());
  expect(Array.from(bias.data)).toEqual([0.5, 1]);
});

test('reads split attribute lists (layer_names0, layer_names1) and old flat weight names', async () => {
  const file = await openKerasWeights(join(H5_FIXTURES, 'tiny_conv_split.h5'));
  expect(file.layerNames).toEqual(['input_1', 'conv', 'pool']);
  const [kernel, bias] = file.read(['conv']).get('conv')!;
  file.close();
  expect(kernel.name).toBe('conv_W:0');
  expect(Array.from(kernel.data)).toEqual(expectedKernel());
  expect(bias.shape).toEqual([2]);
});

test('reads variable-length strings as h5wasm writes them, and full-model files under model_weights', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cnnviz-h5-'));
  const layers = [
    { name: 'a', weights: [{ name: 'a/kernel:0', shape: [2], data: Float32Array.of(1, 2) }] },
    { name: 'b', weights: [] },
  ];
  await writeKerasH5(join(dir, 'vlen.h5'), layers);
  await writeKerasH5(join(dir, 'full.h5'), layers, { fullModel: { class_name: 'Sequential', config: { layers: [] } } });
  for (const name of ['vlen.h5', 'full.h5']) {
    const file = await openKerasWeights(join(dir, name));
    expect(file.layerNames).toEqual(['a', 'b']);
    expect(Array.from(file.read(['a']).get('a')![0].data)).toEqual([1, 2]);
    file.close();
  }
});

test('a file that is not HDF5, or HDF5 without Keras weights, is refused with its path named', async () => {
  await expect(openKerasWeights(join(H5_FIXTURES, 'make_fixtures.py'))).rejects.toThrow(/make_fixtures\.py/);
  const dir = mkdtempSync(join(tmpdir(), 'cnnviz-h5-'));
  const { loadH5wasm } = await import('../../src/weights/h5.js');
  const h5 = await loadH5wasm();
  const f = new h5.File(join(dir, 'plain.h5'), 'w');
  f.create_group('x');
  f.close();
  await expect(openKerasWeights(join(dir, 'plain.h5'))).rejects.toThrow(
    /not a Keras weights file: it has no 'layer_names'/,
  );
});

describe('a damaged file says so in one line, without HDF5-DIAG pages', () => {
  const bad = mkdtempSync(join(tmpdir(), 'cnnviz-h5-bad-'));
  const source = readFileSync(join(H5_FIXTURES, 'tiny_conv.h5'));

  test('the superblock records the end of file: h5py (version 0) and h5wasm files end where it says', async () => {
    expect(superblockEnd(source)).toBe(source.length);
    await writeKerasH5(join(bad, 'h5wasm.h5'), [
      { name: 'a', weights: [{ name: 'a/kernel:0', shape: [2], data: Float32Array.of(1, 2) }] },
    ]);
    const written = readFileSync(join(bad, 'h5wasm.h5'));
    expect(superblockEnd(written)).toBe(written.length);
  });

  test.each([
    [
      'cut short (a download that stopped)',
      (b: Buffer) => b.subarray(0, 3000),
      /'.*cut\.h5' is truncated: 3,000 of 11,880 bytes; fetch or save it again/,
    ],
    [
      'with its middle zeroed',
      (b: Buffer) => Buffer.concat([b.subarray(0, 800), Buffer.alloc(5200), b.subarray(6000)]),
      /'.*zeroed\.h5' is damaged: HDF5 cannot read it/,
    ],
  ])('%s', async (what, damage, message) => {
    const path = join(bad, what.startsWith('cut') ? 'cut.h5' : 'zeroed.h5');
    writeFileSync(path, damage(source));
    const { code, stdout, stderr } = await cnnviz(['filters', '--weights', path, '-o', join(bad, 'out')]);
    expect([code, stdout]).toEqual([1, '']);
    expect(stderr).toMatch(message);
    expect(stderr).not.toContain('HDF5-DIAG');
    expect(stderr.trim().split('\n')).toHaveLength(1);
  });
});
