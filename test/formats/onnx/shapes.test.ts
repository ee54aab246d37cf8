/** Where ONNX shapes come from: the file's value_info where it has them in full, else inference. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cnnviz } from '../../helpers/cli.js';
import { writeOnnxModel } from '../../helpers/onnx-builder.js';
import { FIXTURES } from '../../helpers/paths.js';

const dir = mkdtempSync(join(tmpdir(), 'cnnviz-onnx-shapes-'));
// SpaceToDepth has no inference rule in cnnviz: its shape is known only from value_info.
const model = (valueInfo?: Record<string, Array<number | string>>) =>
  writeOnnxModel(join(dir, `s2d-${valueInfo ? 'declared' : 'bare'}.onnx`), {
    input: { name: 'x', shape: ['batch', 3, 8, 8] },
    nodes: [
      { op: 'Relu', name: 'relu', inputs: ['x'] },
      { op: 'SpaceToDepth', name: 's2d', inputs: ['relu'], attrs: { blocksize: 2 } },
      { op: 'Relu', name: 'after', inputs: ['s2d'] },
    ],
    valueInfo,
  });

test('a shape the file declares is shown, and --verbose says how many came from the file', async () => {
  const { code, stdout, stderr } = await cnnviz([
    'summary',
    '--model',
    model({ s2d: ['batch', 12, 4, 4], after: ['batch', 12, 4, 4] }),
    '--verbose',
  ]);
  expect(code).toBe(0);
  expect(stdout).toMatch(/1 {2}s2d \(SpaceToDepth\)\s+\(None, 12, 4, 4\)/);
  expect(stdout).toMatch(/2 {2}after \(Relu\)\s+\(None, 12, 4, 4\)/);
  expect(stderr).toContain("shapes: 2 of 3 node outputs from the file's value_info, 1 inferred");
});

test('without value_info an op cnnviz cannot size is shown as ? and named under the table, and so is what follows', async () => {
  const { code, stdout, stderr } = await cnnviz(['summary', '--model', model(), '--verbose']);
  expect(code).toBe(0);
  expect(stdout).toMatch(/1 {2}s2d \(SpaceToDepth\)\s+\?/);
  expect(stdout).toContain('(? = unknown to cnnviz: s2d, after)');
  expect(stderr).toContain("shapes: 0 of 3 node outputs from the file's value_info, 1 inferred, 2 unknown");
});

test('--size on a free input infers every shape anew (value_info describes the exported size)', async () => {
  const { stdout } = await cnnviz(['summary', '--model', model({ s2d: ['batch', 12, 4, 4] }), '--size', '16x16']);
  expect(stdout).toMatch(/0 {2}relu \(Relu\)\s+\(None, 3, 16, 16\)/);
  expect(stdout).toMatch(/1 {2}s2d \(SpaceToDepth\)\s+\?/);
});

test('a free height and width take --size: refused without it, drawn with it', async () => {
  const free = writeOnnxModel(join(dir, 'free-size.onnx'), {
    input: { name: 'x', shape: ['batch', 3, 'height', 'width'] },
    initializers: [{ name: 'w', dims: [2, 3, 3, 3], values: new Float32Array(54).fill(0.1) }],
    nodes: [
      {
        op: 'Conv',
        name: 'conv',
        inputs: ['x', 'w'],
        attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] },
      },
      { op: 'Relu', name: 'relu', inputs: ['conv'] },
    ],
  });
  const without = await cnnviz([
    'featuremaps',
    join(FIXTURES, 'onnx', 'cat64.png'),
    '--model',
    free,
    '-o',
    join(dir, 'free-out'),
  ]);
  expect([without.code, without.stderr]).toEqual([
    2,
    'cnnviz: test_graph leaves its input size undefined; give one with --size WxH\n',
  ]);
  const sized = await cnnviz([
    'featuremaps',
    join(FIXTURES, 'onnx', 'cat64.png'),
    '--model',
    free,
    '--size',
    '40x30',
    '--blocks',
    'all',
    '-o',
    join(dir, 'free-out'),
  ]);
  expect(sized.code).toBe(0);
  // A 3x3 conv, stride 2, padding 1: ceil(30 / 2) x ceil(40 / 2).
  expect(sized.stdout).toContain('relu 15x20: 2 of 2 maps');
});
