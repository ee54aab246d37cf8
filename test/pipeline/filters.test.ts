/**
 * The filters picture, pixel by pixel, against kernels worked by hand: every tile's 3x3 (or 7x7)
 * values scaled by --normalize layer, filter or channel, a depthwise kernel one column per
 * filter, and --rgb's colour tiles with their channel order (R, G, B as stored; B, G, R turned
 * round for a caffe model), on weights from a graph model's file, VGG16's seeded weights, and
 * PyTorch's own conv1 weights of the ONNX fixture.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { filters } from '../../src/index.js';
import { cnnviz, readPng } from '../helpers/cli.js';
import { GraphModelWriter, intsAttr, stringAttr } from '../helpers/graph-model.js';
import { seededValues } from '../helpers/keras-h5.js';
import { parseNpy } from '../helpers/npy.js';
import { CAT, FIXTURES } from '../helpers/paths.js';

const tmp = (name: string) => mkdtempSync(join(tmpdir(), `cnnviz-filters-${name}-`));
const PADDING = 2;

/** The grey a value takes once scaled into [min, max]: 256 steps, the top one included in 255. */
const grey = (v: number, [min, max]: [number, number]) => Math.min(255, Math.floor(((v - min) / (max - min)) * 256));
/** A colour channel of an --rgb tile: rounded to 255 steps. */
const colour = (v: number, [min, max]: [number, number]) => Math.round(((v - min) / (max - min)) * 255);
const span = (values: number[]): [number, number] => [Math.min(...values), Math.max(...values)];

/** The centre pixel of kernel cell (i, j) of tile (row, col), in a mosaic of `side`-pixel tiles scaled by `scale`. */
function cellPixel(
  png: ReturnType<typeof readPng>,
  row: number,
  col: number,
  i: number,
  j: number,
  scale: number,
): number[] {
  const side = 3 * scale;
  const x = PADDING + col * (side + PADDING) + j * scale + Math.floor(scale / 2);
  const y = PADDING + row * (side + PADDING) + i * scale + Math.floor(scale / 2);
  const at = (y * png.width + x) * 4;
  return [png.data[at], png.data[at + 1], png.data[at + 2]];
}

// A graph model with a 3x3 conv of 4 filters over 3 channels (HWIO) and a depthwise 3x3 of multiplier 2.
const FILTER = seededValues(3 * 3 * 3 * 4, 11, 0.5);
const DW = seededValues(3 * 3 * 4 * 2, 12, 0.5);
function graphModel(): string {
  const g = new GraphModelWriter('input', [16, 16, 3]);
  const nhwc = {
    data_format: stringAttr('NHWC'),
    dilations: intsAttr(1, 1, 1, 1),
    strides: intsAttr(1, 1, 1, 1),
    padding: stringAttr('SAME'),
  };
  const conv = g.node('conv', 'Conv2D', ['input', g.constant('conv/filter', [3, 3, 3, 4], FILTER)], nhwc);
  g.node('dw', 'DepthwiseConv2dNative', [conv, g.constant('dw/filter', [3, 3, 4, 2], DW)], nhwc);
  return g.write(tmp('graph'));
}
const hwio = (i: number, j: number, c: number, f: number, cin = 3, cout = 4) =>
  FILTER[((i * 3 + j) * cin + c) * cout + f];

describe('grey tiles, a row per filter and a column per channel, scaled as --normalize says', () => {
  const model = graphModel();
  test.each(['layer', 'filter', 'channel'])('--normalize %s', async (normalize) => {
    const out = tmp(normalize);
    const run = await cnnviz([
      'filters',
      '--model',
      model,
      '--layer',
      'conv',
      '--count',
      'all',
      '--channels',
      'all',
      '--normalize',
      normalize,
      '-o',
      out,
    ]);
    expect(run.code).toBe(0);
    const png = readPng(join(out, 'filters-conv.png'));
    const scale = Math.ceil(32 / 3);
    expect([png.width, png.height]).toEqual([PADDING + 3 * (3 * scale + PADDING), PADDING + 4 * (3 * scale + PADDING)]);
    const cells = (f: number, c: number) => [0, 1, 2].flatMap((i) => [0, 1, 2].map((j) => hwio(i, j, c, f)));
    for (let f = 0; f < 4; f++)
      for (let c = 0; c < 3; c++) {
        const range =
          normalize === 'layer'
            ? span(Array.from(FILTER))
            : normalize === 'filter'
              ? span([0, 1, 2].flatMap((k) => cells(f, k)))
              : span(cells(f, c));
        for (let i = 0; i < 3; i++)
          for (let j = 0; j < 3; j++) {
            const [value] = cellPixel(png, f, c, i, j, scale);
            expect([f, c, i, j, Math.abs(value - grey(hwio(i, j, c, f), range)) <= 1]).toEqual([f, c, i, j, true]);
          }
      }
  });

  test('a depthwise kernel (kh, kw, in, multiplier): filter c * m + k sees channel c, one column', async () => {
    const out = tmp('dw');
    const run = await cnnviz(['filters', '--model', model, '--layer', 'dw', '--count', 'all', '-o', out]);
    expect(run.code).toBe(0);
    const png = readPng(join(out, 'filters-dw.png'));
    const scale = Math.ceil(32 / 3);
    const range = span(Array.from(DW));
    for (let c = 0; c < 4; c++)
      for (let k = 0; k < 2; k++)
        for (let i = 0; i < 3; i++)
          for (let j = 0; j < 3; j++) {
            const [value] = cellPixel(png, c * 2 + k, 0, i, j, scale);
            const expected = grey(DW[((i * 3 + j) * 4 + c) * 2 + k], range);
            expect(Math.abs(value - expected)).toBeLessThanOrEqual(1);
          }
  });
});

test('--rgb on VGG16 (caffe weights store B, G, R): each tile shows channel 2 as red and channel 0 as blue', async () => {
  const out = tmp('rgb');
  const run = await cnnviz(['filters', '--rgb', '--count', '4', '--cell', '24', '--weights', 'none', '-o', out]);
  expect(run.code).toBe(0);
  expect(run.stdout).toContain('channels stored B,G,R; shown as R,G,B');
  const { kernel } = await filters({ model: 'vgg16', weights: 'none', layer: 'block1_conv1' });
  const [, , cin, cout] = kernel.shape;
  const value = (i: number, j: number, c: number, f: number) => kernel.data[((i * 3 + j) * cin + c) * cout + f];
  const range = span(Array.from(kernel.data));
  const png = readPng(join(out, 'filters-block1_conv1-rgb.png'));
  for (let f = 0; f < 4; f++)
    for (let i = 0; i < 3; i++)
      for (let j = 0; j < 3; j++) {
        const expected = [2, 1, 0].map((c) => colour(value(i, j, c, f), range));
        expect(cellPixel(png, Math.floor(f / 2), f % 2, i, j, 8)).toEqual(expected);
      }
});

test("the report's filters of an ONNX model (BatchNorm kept, so conv1 holds its own weights) are PyTorch's conv1 weights as colour tiles, R, G, B as stored", async () => {
  const out = tmp('report');
  const run = await cnnviz(['report', CAT, '--model', join(FIXTURES, 'onnx', 'tiny_resnet_bn.onnx'), '-o', out]);
  expect(run.code).toBe(0);
  const torch = parseNpy(readFileSync(join(FIXTURES, 'onnx', 'expected', 'tiny_resnet-conv1-weight.npy')));
  expect(torch.shape).toEqual([8, 3, 7, 7]);
  const range = span(Array.from(torch.data));
  const png = readPng(join(out, 'filters.png'));
  // 8 filters, ceil(sqrt(8)) = 3 a row; 7x7 kernels at 24 pixels a tile: 4 pixels a cell.
  const scale = Math.ceil(24 / 7);
  const side = 7 * scale;
  for (let f = 0; f < 8; f++)
    for (let i = 0; i < 7; i++)
      for (let j = 0; j < 7; j++) {
        const x = PADDING + (f % 3) * (side + PADDING) + j * scale + 1;
        const y = PADDING + Math.floor(f / 3) * (side + PADDING) + i * scale + 1;
        const at = (y * png.width + x) * 4;
        const expected = [0, 1, 2].map((c) => colour(torch.data[((f * 3 + c) * 7 + i) * 7 + j], range));
        expect([png.data[at], png.data[at + 1], png.data[at + 2]]).toEqual(expected);
      }
});
