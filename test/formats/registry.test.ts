/**
 * Formats are recognised by content first, extension second: a renamed model still opens (and
 * --verbose says what it holds), a file of another kind gets one line saying what it looks
 * like, and a damaged file of a known kind still reaches its reader, which says what is wrong.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { zipSync, strToU8 } from 'fflate';
import { cnnviz } from '../helpers/cli.js';
import { GraphModelWriter } from '../helpers/graph-model.js';
import { CAT, FIXTURES, TINY_VGG, withTinyVgg } from '../helpers/paths.js';

const dir = mkdtempSync(join(tmpdir(), 'cnnviz-registry-'));
const RESNET = join(FIXTURES, 'onnx', 'tiny_resnet.onnx');
const copy = (from: string, name: string) => {
  const to = join(mkdtempSync(join(dir, 'm-')), name);
  copyFileSync(from, to);
  return to;
};

test.each([
  ['an ONNX file named model.bin', () => copy(RESNET, 'model.bin'), 'an ONNX model', 'Total params: '],
  ['an ONNX file named weights.h5', () => copy(RESNET, 'weights.h5'), 'an ONNX model', 'Total params: '],
  [
    'a graph model named graph.txt',
    () => {
      const g = new GraphModelWriter('input', [8, 8, 3]);
      g.node('relu', 'Relu', ['input']);
      const path = g.write(mkdtempSync(join(dir, 'g-')));
      copyFileSync(path, join(path, '..', 'graph.txt'));
      return join(path, '..', 'graph.txt');
    },
    'a TensorFlow.js graph model',
    'relu (Relu)',
  ],
])('%s opens by its content; --verbose says what it holds', async (_name, make, what, table) => {
  const path = make();
  const { code, stdout, stderr } = await cnnviz(['summary', '--model', path, '--verbose']);
  expect(code).toBe(0);
  expect(stdout).toContain(table);
  expect(stderr).toContain(`'${path}' holds ${what} (by its content, whatever its name says)`);
});

withTinyVgg()('a TensorFlow.js layers model named model.dat opens, its shards beside it', async () => {
  const folder = mkdtempSync(join(dir, 'tiny-'));
  const json = JSON.parse(readFileSync(TINY_VGG, 'utf8'));
  for (const shard of json.weightsManifest[0].paths) copyFileSync(join(TINY_VGG, '..', shard), join(folder, shard));
  writeFileSync(join(folder, 'model.dat'), JSON.stringify(json));
  const { code, stdout } = await cnnviz(['summary', '--model', join(folder, 'model.dat')]);
  expect(code).toBe(0);
  expect(stdout).toContain('conv_1_1 (Conv2D)');
});

describe('a file of another kind: one line saying what it looks like, exit 2', () => {
  const make = (name: string, bytes: Uint8Array | string) => {
    const path = join(mkdtempSync(join(dir, 'x-')), name);
    writeFileSync(path, bytes);
    return path;
  };
  test.each([
    ['a JPEG named model.onnx', () => copy(CAT, 'model.onnx'), 'a JPEG image'],
    ['a PNG named model.h5', () => copy(join(FIXTURES, 'onnx', 'cat64.png'), 'model.h5'), 'a PNG image'],
    ['a PDF named model.keras', () => make('model.keras', '%PDF-1.7\n...'), 'a PDF document'],
    [
      'a zip without config.json named model.keras',
      () => make('model.keras', zipSync({ 'notes.txt': strToU8('hello') })),
      'a zip archive without config.json (not a Keras 3 archive)',
    ],
    [
      'JSON without modelTopology',
      () => make('model.json', JSON.stringify({ name: 'not a model' })),
      'JSON that is no TensorFlow.js model (no modelTopology)',
    ],
    ['an empty file named model.onnx', () => make('model.onnx', ''), 'an empty file'],
    ['a text file named model.pt', () => make('model.pt', 'these are my notes\n'), 'a text file'],
    [
      'binary data named model.bin',
      () => make('model.bin', Buffer.from([0, 1, 2, 3, 250, 251, 252])),
      'binary data of no format cnnviz knows',
    ],
  ])('%s', async (_name, path, what) => {
    const model = path();
    const { code, stderr } = await cnnviz(['summary', '--model', model]);
    expect(stderr).toBe(
      `cnnviz: '${model}' looks like ${what}, not a model cnnviz reads (.json (TensorFlow.js), .h5 (Keras model.save), .keras (Keras 3), .onnx)\n`,
    );
    expect(code).toBe(2);
  });
});

test('a model.json that does not parse reaches the layers reader, which says so without quoting the file', async () => {
  const folder = mkdtempSync(join(dir, 'bad-json-'));
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, 'model.json'), '{"modelTopology": root:x:0:0:root');
  const { code, stderr } = await cnnviz(['summary', '--model', join(folder, 'model.json')]);
  expect(code).not.toBe(0);
  expect(stderr.trim().split('\n')).toHaveLength(1);
  expect(stderr).not.toContain('unexpected');
});
