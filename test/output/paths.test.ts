/**
 * Where cnnviz writes: only below the output folder, whatever a name says; names made from
 * layers fit any file system, however long the layer's name.
 */
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CnnvizError } from '../../src/errors.js';
import { outputPath } from '../../src/output/files.js';
import { fileSafe } from '../../src/output/names.js';
import { cnnviz } from '../helpers/cli.js';
import { FIXTURES } from '../helpers/paths.js';
import { writeOnnxModel } from '../helpers/onnx-builder.js';

test('a path below the output folder is taken; one leading out of it is refused', () => {
  expect(outputPath('out', 'relu_2_2', 'channel-003.png')).toBe(join('out', 'relu_2_2', 'channel-003.png'));
  for (const escape of [
    ['relu', 'channel-/../../../../ESCAPED.png'],
    ['..', 'x.png'],
    ['/etc/passwd'],
    ['a/../../b.png'],
    ['.'],
  ]) {
    expect(() => outputPath('out', ...escape)).toThrow(CnnvizError);
    expect(() => outputPath('out', ...escape)).toThrow(
      /^refusing to write '.*': it is outside the output folder 'out'$/,
    );
  }
});

test('a long layer name becomes a file name of at most 96 characters, told apart by a hash of the whole', () => {
  const long = `model/${'very_deep_scope/'.repeat(30)}conv/Relu`;
  const other = `model/${'very_deep_scope/'.repeat(30)}conv/Relu6`;
  expect(fileSafe(long)).toHaveLength(96);
  expect(fileSafe(long).startsWith('model_very_deep_scope_')).toBe(true);
  expect(fileSafe(long)).not.toBe(fileSafe(other));
  expect(fileSafe('/layer1/layer1.0/relu/Relu')).toBe('layer1_layer1.0_relu_Relu');
});

test('a node named with 300 characters draws to a short file name; the line names the whole node', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cnnviz-long-name-'));
  const name = `encoder/${'stage'.repeat(58)}/relu`;
  const model = writeOnnxModel(join(dir, 'long.onnx'), {
    input: { name: 'x', shape: [1, 3, 8, 8] },
    nodes: [{ op: 'Relu', name, inputs: ['x'] }],
  });
  const out = join(dir, 'out');
  const { code, stdout, stderr } = await cnnviz([
    'featuremaps',
    join(FIXTURES, 'onnx', 'cat64.png'),
    '--model',
    model,
    '--layer',
    name,
    '-o',
    out,
  ]);
  expect(stderr).not.toMatch(/ENAMETOOLONG|unexpected/);
  expect(code).toBe(0);
  const [file] = readdirSync(out);
  expect(file.length).toBeLessThan(120);
  expect(stdout).toContain(`${name} 8x8`);
});
