/**
 * Class names: ImageNet's are built in for any 1000-class output (in ILSVRC order: 281 is the
 * tabby, 967 espresso), --labels overrides them, and --class finds a class by any-case name.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { classNames, rankClasses, targetClass } from '../../src/pipeline/classifier.js';
import { cnnviz } from '../helpers/cli.js';
import { seededValues } from '../helpers/keras-h5.js';
import { writeOnnxModel } from '../helpers/onnx-builder.js';
import { FIXTURES } from '../helpers/paths.js';

const dir = mkdtempSync(join(tmpdir(), 'cnnviz-classifier-'));

test("a 1000-class output gets ImageNet's names, in ILSVRC 2012 order", async () => {
  const names = (await classNames(1000))!;
  expect(names).toHaveLength(1000);
  expect([names[0], names[281], names[967], names[999]]).toEqual(['tench', 'tabby', 'espresso', 'toilet tissue']);
  expect(new Set(names).size).toBe(1000);
  expect(await classNames(10)).toBeUndefined();
  expect(targetClass('Tabby', 1000, names)).toBe(281);
  expect(targetClass('967', 1000, names)).toBe(967);
});

test('the prediction is the softmax of the logits, highest first', () => {
  // softmax([0, ln 3]) = [1/4, 3/4]
  const ranked = rankClasses(Float32Array.of(0, Math.log(3)), ['a', 'b']);
  expect(ranked.map((p) => [p.index, p.name])).toEqual([
    [1, 'b'],
    [0, 'a'],
  ]);
  expect(ranked[0].probability).toBeCloseTo(0.75, 6);
});

test('cam on an ONNX model with 1000 classes names them, and --labels takes over', async () => {
  const model = writeOnnxModel(join(dir, 'thousand.onnx'), {
    input: { name: 'x', shape: [1, 3, 16, 16] },
    initializers: [
      { name: 'w', dims: [8, 3, 3, 3], values: seededValues(216, 1, 0.5) },
      { name: 'fc', dims: [1000, 8], values: seededValues(8000, 2, 0.5) },
      { name: 'b', dims: [1000], values: seededValues(1000, 3, 0.1) },
    ],
    nodes: [
      { op: 'Conv', name: 'conv', inputs: ['x', 'w'], attrs: { pads: [1, 1, 1, 1] } },
      { op: 'Relu', name: 'relu', inputs: ['conv'] },
      { op: 'GlobalAveragePool', name: 'gap', inputs: ['relu'] },
      { op: 'Flatten', name: 'flat', inputs: ['gap'] },
      { op: 'Gemm', name: 'logits', inputs: ['flat', 'fc', 'b'], attrs: { transB: 1 } },
    ],
  });
  const image = join(FIXTURES, 'onnx', 'cat64.png');
  const named = await cnnviz([
    'cam',
    image,
    '--model',
    model,
    '--size',
    '16x16',
    '--class',
    'tabby',
    '--json',
    '-o',
    join(dir, 'a'),
  ]);
  expect(named.code).toBe(0);
  const report = JSON.parse(named.stdout);
  expect(report.predictions[0].explained).toMatchObject({ index: 281, name: 'tabby' });
  expect(report.predictions[0].top.every((p: { name: string }) => typeof p.name === 'string')).toBe(true);

  const labels = join(dir, 'labels.txt');
  writeFileSync(labels, Array.from({ length: 1000 }, (_, i) => `class-${i}`).join('\n'));
  const own = await cnnviz([
    'cam',
    image,
    '--model',
    model,
    '--size',
    '16x16',
    '--labels',
    labels,
    '--class',
    'class-5',
    '--json',
    '-o',
    join(dir, 'b'),
  ]);
  expect(own.code).toBe(0);
  expect(JSON.parse(own.stdout).predictions[0].explained).toMatchObject({ index: 5, name: 'class-5' });
});
