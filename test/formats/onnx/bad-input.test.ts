/**
 * Bad ONNX input, each through the CLI: one line on stderr, exit 2 (the user's input) or 1
 * (the work failed), no stack trace, and no picture written.
 */
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cnnviz } from '../../helpers/cli.js';
import { FIXTURES } from '../../helpers/paths.js';
import { writeOnnxModel } from '../../helpers/onnx-builder.js';

const RESNET = join(FIXTURES, 'onnx', 'tiny_resnet.onnx');
const CAT64 = join(FIXTURES, 'onnx', 'cat64.png');
const dir = mkdtempSync(join(tmpdir(), 'cnnviz-onnx-bad-'));

const reluOnly = () =>
  writeOnnxModel(join(dir, 'relu-only.onnx'), {
    input: { name: 'x', shape: [1, 3, 8, 8] },
    nodes: [{ op: 'Relu', name: 'relu', inputs: ['x'] }],
  });

function truncated(): string {
  const path = join(dir, 'truncated.onnx');
  const bytes = readFileSync(RESNET);
  writeFileSync(path, bytes.subarray(0, bytes.length / 3));
  return path;
}

function notProtobuf(): string {
  const path = join(dir, 'notes.onnx');
  writeFileSync(path, 'these are my notes, not a model\n');
  return path;
}

function missingExternalData(): string {
  const folder = mkdtempSync(join(dir, 'ext-'));
  const path = writeOnnxModel(join(folder, 'model.onnx'), {
    input: { name: 'x', shape: [1, 3, 8, 8] },
    initializers: [{ name: 'w', dims: [2, 3, 1, 1], values: [1, 2, 3, 4, 5, 6] }],
    nodes: [{ op: 'Conv', name: 'conv', inputs: ['x', 'w'], attrs: { kernel_shape: [1, 1] } }],
    external: { file: 'model.onnx.data', dir: folder },
  });
  // Copied without its data file, as when only the .onnx is downloaded.
  const alone = mkdtempSync(join(dir, 'alone-'));
  copyFileSync(path, join(alone, 'model.onnx'));
  return join(alone, 'model.onnx');
}

/** 3 GB of zeros named .onnx, sparse: no disk is spent on it. */
function hugeZeros(): string {
  const path = join(dir, 'zeros.onnx');
  writeFileSync(path, '');
  truncateSync(path, 3 * 2 ** 30);
  return path;
}

function unknownOp(): string {
  return writeOnnxModel(join(dir, 'custom-op.onnx'), {
    input: { name: 'x', shape: [1, 3, 8, 8] },
    nodes: [
      { op: 'Relu', name: 'relu', inputs: ['x'] },
      { op: 'MyFancyActivation', name: 'fancy', inputs: ['relu'] },
    ],
  });
}

const CASES: Array<[string, () => string[], number, RegExp]> = [
  [
    'a truncated .onnx',
    () => ['summary', '--model', truncated()],
    1,
    /'.*truncated\.onnx' is not a readable ONNX model \(.*\): is it truncated, or another kind of file\?/,
  ],
  [
    'a text file named .onnx',
    () => ['summary', '--model', notProtobuf()],
    1,
    /notes\.onnx' is not a readable ONNX model/,
  ],
  [
    'external data missing',
    () => ['summary', '--model', missingExternalData()],
    2,
    /keeps its weights in '.*model\.onnx\.data', which cannot be read \(no such file or folder \(ENOENT\)\)/,
  ],
  [
    'a 3 GB file of zeros',
    () => ['featuremaps', CAT64, '--model', hugeZeros(), '-o', join(dir, 'out')],
    2,
    /zeros\.onnx' is 3\.0 GB; an ONNX file holds at most 2 GB \(larger models keep their weights in external data beside it\)/,
  ],
  [
    'an op ONNX Runtime cannot run',
    () => ['featuremaps', CAT64, '--model', unknownOp(), '--layer', 'relu', '-o', join(dir, 'out-op')],
    1,
    /ONNX Runtime cannot run '.*custom-op\.onnx': No Op registered for MyFancyActivation with domain_version of 13$/m,
  ],
  [
    'an unknown node name',
    () => ['featuremaps', CAT64, '--model', RESNET, '--layer', '/layer1/layer1.0/relu_1/Rellu', '-o', join(dir, 'out')],
    2,
    /no layer '\/layer1\/layer1\.0\/relu_1\/Rellu' in tiny_resnet\. Did you mean '\/layer1\/layer1\.0\/relu_1\/Relu'\?/,
  ],
  [
    'a 2-D node for featuremaps',
    () => ['featuremaps', CAT64, '--model', RESNET, '--layer', '/fc/Gemm', '-o', join(dir, 'out')],
    2,
    /layer '\/fc\/Gemm' \(Gemm\) is not a spatial layer/,
  ],
  [
    'a model without Conv for filters',
    () => ['filters', '--model', reluOnly(), '-o', join(dir, 'out')],
    2,
    /test_graph has no convolutional layers, so no filters to draw/,
  ],
  [
    '--backend wasm with an ONNX model',
    () => ['featuremaps', CAT64, '--model', RESNET, '--backend', 'wasm', '-o', join(dir, 'out')],
    2,
    /--backend wasm: ONNX models run on ONNX Runtime; use --backend onnx \(or auto\)/,
  ],
  [
    '--weights none with an ONNX model',
    () => ['filters', '--model', RESNET, '--weights', 'none', '-o', join(dir, 'out')],
    2,
    /--weights none: an ONNX model carries its own weights/,
  ],
];

test.each(CASES)('%s: one line and its exit code, no picture', async (_name, args, expectedCode, message) => {
  const { code, stdout, stderr } = await cnnviz(args());
  expect(stderr).toMatch(message);
  expect(code).toBe(expectedCode);
  expect(stderr.trim().split('\n')).toHaveLength(1);
  expect(stderr).not.toMatch(/\n\s+at /);
  expect(stdout).toBe('');
  for (const out of ['out', 'out-op']) if (existsSync(join(dir, out))) expect(readdirSync(join(dir, out))).toEqual([]);
});
