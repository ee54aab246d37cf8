/**
 * Models really exported by torch.onnx.export (fixtures/onnx/make_fixtures.py), through the CLI
 * as a PyTorch user runs it: summary, stages, filters, and feature maps equal to what PyTorch's
 * forward hooks recorded, with BatchNorm folded into the convolutions (eval export) and kept.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openModel } from '../../../src/formats/model.js';
import { cnnviz, readPng } from '../../helpers/cli.js';
import { maxAbsDiff, scaleOf } from '../../helpers/compare.js';
import { parseNpy } from '../../helpers/npy.js';
import { CAT, FIXTURES } from '../../helpers/paths.js';

const ONNX = join(FIXTURES, 'onnx');
const CAT64 = join(ONNX, 'cat64.png');
const expected = (name: string) => parseNpy(readFileSync(join(ONNX, 'expected', `${name}.npy`)));
const facts = (file: string) =>
  JSON.parse(readFileSync(join(ONNX, 'expected', file.replace('.onnx', '.json')), 'utf8'));
const tmp = () => mkdtempSync(join(tmpdir(), 'cnnviz-torch-'));

/** PyTorch's (C, H, W) as the (H, W, C) cnnviz writes. */
function toHwc({ shape: [c, h, w], data }: { shape: number[]; data: Float32Array }): Float32Array {
  const out = new Float32Array(data.length);
  for (let k = 0; k < c; k++) for (let i = 0; i < h * w; i++) out[i * c + k] = data[k * h * w + i];
  return out;
}

/** The ResNet stages as the issue defines them: the stem's ReLU, then the end of layer1 ... layer4. */
const RESNET_STAGES = [
  '/relu/Relu',
  '/layer1/layer1.0/relu_1/Relu',
  '/layer2/layer2.0/relu_1/Relu',
  '/layer3/layer3.0/relu_1/Relu',
  '/layer4/layer4.0/relu_1/Relu',
];
const RESNET_MODULES = ['relu', 'layer1', 'layer2', 'layer3', 'layer4'];

test('summary lists one row per node with the params of the float initializers, and marks the 5 ResNet stages', async () => {
  const { code, stdout, stderr } = await cnnviz(['summary', '--model', join(ONNX, 'tiny_resnet.onnx'), '--json']);
  expect([code, stderr]).toEqual([0, '']);
  const summary = JSON.parse(stdout);
  const file = facts('tiny_resnet.onnx');
  expect(summary.rows).toHaveLength(file.nodes);
  expect(summary.totalParams).toBe(file.params);
  expect(summary.rows.filter((r: { stage?: number }) => r.stage).map((r: { name: string }) => r.name)).toEqual(
    RESNET_STAGES,
  );
  // conv1: 8 filters of 3x7x7 with the folded BatchNorm's bias.
  expect(summary.rows[0]).toMatchObject({
    index: 0,
    name: '/conv1/Conv',
    type: 'Conv',
    outputShape: '(None, 8, 32, 32)',
    params: 8 * 3 * 49 + 8,
  });
  const table = await cnnviz(['summary', '--model', join(ONNX, 'tiny_resnet.onnx')]);
  expect(table.stdout).toMatch(/ 1 {2}\/relu\/Relu \(Relu\)\s+\(None, 8, 32, 32\)\s+0 {2}end of 1/);
  expect(table.stdout).toContain(`Total params: ${file.params.toLocaleString('en-US')}`);
});

describe.each([
  ['tiny_resnet.onnx', 'BatchNorm folded (eval export)'],
  ['tiny_resnet_bn.onnx', 'BatchNormalization nodes kept'],
])('%s (%s)', (file) => {
  test('--blocks all writes 5 stage mosaics whose activations equal PyTorch forward hooks within 1e-4 of the max', async () => {
    const out = tmp();
    const { code, stdout, stderr } = await cnnviz([
      'featuremaps',
      CAT64,
      '--model',
      join(ONNX, file),
      '--blocks',
      'all',
      '--save-npy',
      '-o',
      out,
      '--json',
    ]);
    expect(code).toBe(0);
    expect(stderr).toContain("preprocessing: 'torch'");
    const pngs = JSON.parse(stdout).files.filter((f: { path: string }) => f.path.endsWith('.png'));
    expect(pngs).toHaveLength(5);
    RESNET_MODULES.forEach((module, i) => {
      const torch = expected(`tiny_resnet-${module}`);
      const ours = parseNpy(
        readFileSync(join(out, `cat64-${RESNET_STAGES[i].replace(/^\//, '').replace(/\//g, '_')}.npy`)),
      );
      expect(ours.shape).toEqual([torch.shape[1], torch.shape[2], torch.shape[0]]);
      expect(maxAbsDiff(ours.data, toHwc(torch)) / scaleOf(torch.data)).toBeLessThan(1e-4);
    });
  });
});

test('MobileNetV2: five stages, each expand activation before a strided depthwise conv and the last conv; blocks equal PyTorch', async () => {
  const model = join(ONNX, 'tiny_mobilenet.onnx');
  const summary = JSON.parse((await cnnviz(['summary', '--model', model, '--json'])).stdout);
  expect(summary.rows.filter((r: { stage?: number }) => r.stage).map((r: { name: string }) => r.name)).toEqual([
    '/features/features.2/conv/conv.0/conv.0.2/Clip',
    '/features/features.4/conv/conv.0/conv.0.2/Clip',
    '/features/features.7/conv/conv.0/conv.0.2/Clip',
    '/features/features.14/conv/conv.0/conv.0.2/Clip',
    '/features/features.18/features.18.2/Clip',
  ]);
  expect(summary.totalParams).toBe(facts('tiny_mobilenet.onnx').params);
  // A node by name, another by its output tensor's name, the last stage by number.
  const addNode = summary.rows.find((r: { name: string }) => r.name === '/features/features.3/Add');
  const out = tmp();
  const { code } = await cnnviz([
    'featuremaps',
    CAT64,
    '--model',
    model,
    '--layer',
    '/features/features.3/Add',
    String(addNode.index),
    '--blocks',
    '5',
    '--save-npy',
    '-o',
    out,
  ]);
  expect(code).toBe(0);
  for (const [file, module] of [
    ['features_features.3_Add', 'features.3'],
    ['features_features.18_features.18.2_Clip', 'features.18'],
  ]) {
    const torch = expected(`tiny_mobilenet-${module}`);
    const ours = parseNpy(readFileSync(join(out, `cat64-${file}.npy`)));
    expect(maxAbsDiff(ours.data, toHwc(torch)) / scaleOf(torch.data)).toBeLessThan(1e-4);
  }
});

test('filters draws conv1 by default: its kernel is PyTorch weight (out, in, kh, kw) as rows of filters, columns of input channels', async () => {
  const out = tmp();
  const { code, stdout } = await cnnviz([
    'filters',
    '--model',
    join(ONNX, 'tiny_resnet_bn.onnx'),
    '--count',
    'all',
    '--channels',
    'all',
    '--cell',
    '14',
    '-o',
    out,
  ]);
  expect(code).toBe(0);
  expect(stdout).toContain('/conv1/Conv kernel 7x7x3x8: 8 filters (rows) x 3 input channels (columns)');
  const png = readPng(join(out, 'filters-conv1_Conv.png'));
  // 8 rows and 3 columns of 14-pixel tiles, 2 pixels apart (the mosaic's padding).
  expect([png.width, png.height]).toEqual([3 * 14 + 4 * 2, 8 * 14 + 9 * 2]);
  const torch = expected('tiny_resnet-conv1-weight');
  const { kernel } = await (
    await openModel(join(ONNX, 'tiny_resnet_bn.onnx'), { includeTop: false })
  ).readKernel('/conv1/Conv', { weights: 'imagenet' });
  expect(kernel.shape).toEqual([7, 7, 3, 8]);
  const [cout, cin, kh, kw] = torch.shape;
  for (let f = 0; f < cout; f++)
    for (let c = 0; c < cin; c++)
      for (let i = 0; i < kh; i++)
        for (let j = 0; j < kw; j++)
          expect(kernel.data[((i * kw + j) * cin + c) * cout + f]).toBe(torch.data[((f * cin + c) * kh + i) * kw + j]);
});

test('the cat.jpg at any size: featuremaps resizes to the exported 64x64 and draws the 5 stages', async () => {
  const out = tmp();
  const { code, stdout } = await cnnviz([
    'featuremaps',
    CAT,
    '--model',
    join(ONNX, 'tiny_resnet.onnx'),
    '--blocks',
    'all',
    '-o',
    out,
  ]);
  expect(code).toBe(0);
  expect(stdout.trim().split('\n')).toHaveLength(5);
  expect(stdout).toContain('/layer4/layer4.0/relu_1/Relu 2x2: 64 of 64 maps');
});

test('report of an ONNX model: the 5 stages and conv1 filters (the kernel read after the engine was built)', async () => {
  const out = tmp();
  const { code, stdout } = await cnnviz(['report', CAT, '--model', join(ONNX, 'tiny_resnet.onnx'), '-o', out], {
    CNNVIZ_CACHE: tmp(),
  });
  expect(code).toBe(0);
  expect(stdout.match(/maps-.*\.png/g)).toHaveLength(5);
  expect(stdout).toMatch(/filters\.png .* \/conv1\/Conv filters/);
  const html = readFileSync(join(out, 'index.html'), 'utf8');
  expect(html).toContain('Filters of /conv1/Conv');
  expect(html).toContain('8 filters as colour tiles');
  // 8 colour tiles of 7x7 at 4 pixels a cell, 3 a row: 3 rows of 28 pixels, 2 between and around.
  const filters = readPng(join(out, 'filters.png'));
  expect([filters.width, filters.height]).toEqual([2 + 3 * 30, 2 + 3 * 30]);
});
