/**
 * NaN and infinite weights: said once (the earliest drawn layer holding such values, and how
 * many), the maps holding them crossed out, never a crash: featuremaps, report and examples.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cnnviz, readPng } from '../helpers/cli.js';
import { FIXTURES } from '../helpers/paths.js';
import { writeOnnxModel } from '../helpers/onnx-builder.js';

const dir = mkdtempSync(join(tmpdir(), 'cnnviz-nonfinite-'));
const CAT64 = join(FIXTURES, 'onnx', 'cat64.png');
// A 1x1 conv of 2 filters: filter 0 has a NaN weight (its whole map is NaN), filter 1 is finite; a ReLU after.
const MODEL = writeOnnxModel(join(dir, 'nan.onnx'), {
  input: { name: 'x', shape: [1, 3, 8, 8] },
  initializers: [{ name: 'w', dims: [2, 3, 1, 1], values: [NaN, 1, 1, 0.5, -0.25, 0.125] }],
  nodes: [
    { op: 'Conv', name: 'conv', inputs: ['x', 'w'], attrs: { kernel_shape: [1, 1] } },
    { op: 'Relu', name: 'relu', inputs: ['conv'] },
  ],
});
const NOTICE = 'cnnviz: conv is the first drawn layer with non-finite values (NaN or infinity): 64 of 128 for';

test('featuremaps says which layer first, in the network, and how many; the map is crossed out, the other drawn', async () => {
  const out = join(dir, 'maps');
  const { code, stderr } = await cnnviz([
    'featuremaps',
    CAT64,
    '--model',
    MODEL,
    '--layer',
    'relu',
    'conv',
    '--size',
    '8x8',
    '--preprocess',
    'unit',
    '-o',
    out,
  ]);
  expect(code).toBe(0);
  expect(stderr.split('\n').filter((l) => l.includes('non-finite'))).toEqual([
    `${NOTICE} '${CAT64}'; maps holding them are crossed out`,
  ]);
  const png = readPng(join(out, 'cat64-conv.png'));
  // Tile 0 (NaN) from (2, 2), 64 pixels: a white dash on its diagonal; tile 1 (finite) has no such cross.
  const at = (x: number, y: number) => png.data[(y * png.width + x) * 4];
  expect(at(2 + 6, 2 + 6)).toBe(255);
  expect(at(2 + 6 + 1, 2 + 6)).toBe(255);
  const tile1 = 2 + 64 + 2;
  const values = new Set<number>();
  for (let i = 0; i < 64; i++) values.add(at(tile1 + i, 2 + i));
  expect(values.size).toBeGreaterThan(2); // the cat's shades, not a dashed line
});

test('the report says it and averages the finite maps; examples rank the finite channel and say the rest', async () => {
  const reportOf = (...more: string[]) => [
    'report',
    CAT64,
    '--model',
    MODEL,
    '--layer',
    'conv',
    '--size',
    '8x8',
    ...more,
  ];
  const report = await cnnviz(reportOf('-o', join(dir, 'report')));
  expect(report.code).toBe(0);
  expect(report.stderr).toContain(NOTICE);
  expect(readFileSync(join(dir, 'report', 'index.html'), 'utf8')).toContain('mean activation 0.');

  const photos = mkdtempSync(join(dir, 'photos-'));
  writeFileSync(join(photos, 'a.png'), readFileSync(CAT64));
  const examples = await cnnviz([
    'examples',
    photos,
    '--model',
    MODEL,
    '--layer',
    'conv',
    '--size',
    '8x8',
    '-o',
    join(dir, 'ex'),
  ]);
  expect(examples.stderr).toContain(
    `conv gave non-finite values (NaN or infinity) for 1 image, first '${join(photos, 'a.png')}'; such scores rank nowhere`,
  );
  expect(examples.code).toBe(0);
  const json = JSON.parse(readFileSync(join(dir, 'ex', 'conv', 'examples.json'), 'utf8'));
  expect(json.channels.map((c: { examples: unknown[] }) => c.examples.length)).toEqual([0, 1]);
  const linked = await cnnviz(reportOf('--examples', join(dir, 'ex'), '-o', join(dir, 'report2')));
  expect(linked.code).toBe(0);
});
