/**
 * Receptive fields. VGG16's sizes and jumps are the published ones (conv4_3 sees 92 pixels with
 * a jump of 8, conv5_3 196 and 16); the offsets are worked by hand: each 'same' 3x3 conv pads
 * one pixel of the current jump, so the field of position 0 is centred on (jump - 1) / 2.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { graphFromKerasConfig } from '../../src/formats/keras/graph.js';
import { openModel } from '../../src/formats/model.js';
import { fusedAttr, GraphModelWriter, intsAttr, stringAttr } from '../helpers/graph-model.js';
import { writeOnnxModel } from '../helpers/onnx-builder.js';
import { FIXTURES } from '../helpers/paths.js';
import { kerasNet } from '../../src/formats/keras/net.js';
import { vggConfig } from '../../src/formats/vgg.js';
import type { Net, NetLayer } from '../../src/net/net.js';
import { fieldBox, receptiveField } from '../../src/net/receptive.js';

const vgg16 = kerasNet(graphFromKerasConfig(vggConfig('vgg16', false)));

test.each([
  ['block1_conv1', 3, 1, -1],
  ['block1_conv2', 5, 1, -2],
  ['block1_pool', 6, 2, -2],
  ['block2_conv2', 14, 2, -6],
  ['block3_conv3', 40, 4, -18],
  ['block4_conv3', 92, 8, -42],
  ['block4_pool', 100, 16, -42],
  ['block5_conv3', 196, 16, -90],
  ['block5_pool', 212, 32, -90],
])('VGG16 %s sees %i pixels, %i apart, from %i', (layer, size, jump, offset) => {
  const field = receptiveField(vgg16, layer);
  expect(field).toEqual({ y: { size, jump, offset }, x: { size, jump, offset } });
  // Position 0's field is centred on the middle of the first jump-sized cell.
  expect(offset + (size - 1) / 2).toBe((jump - 1) / 2);
});

test('a box is the field around a position, clipped to the image', () => {
  const field = receptiveField(vgg16, 'block4_conv3');
  expect(fieldBox(field, 0, 0, [224, 224])).toEqual([0, 0, 50, 50]);
  // Row 10, column 5: rows 38 to 130, columns -2 to 90, clipped to 0.
  expect(fieldBox(field, 10, 5, [224, 224])).toEqual([0, 38, 90, 130]);
  expect(fieldBox(field, 27, 27, [224, 224])).toEqual([174, 174, 224, 224]);
});

const layer = (
  name: string,
  inputs: string[],
  mapShape: [number, number, number],
  extra: Partial<NetLayer> = {},
): NetLayer => ({ index: 0, depth: 0, name, type: 'T', role: 'other', inputs, mapShape, params: 0, ...extra });
const net = (layers: NetLayer[]): Net => ({
  name: 'n',
  format: 'test',
  layers,
  input: [8, 8, 3],
  params: { total: 0 },
  unknown: [],
  sequential: false,
});
const conv = (
  kernel: number,
  stride: number,
  padding: 'same' | 'valid' | [number, number, number, number],
  dilation = 1,
) => ({
  role: 'conv' as const,
  window: {
    kernel: [kernel, kernel] as [number, number],
    strides: [stride, stride] as [number, number],
    dilations: [dilation, dilation] as [number, number],
    padding,
  },
});

test('branches meet with the larger field; dilation spans d(k-1)+1 pixels; explicit pads shift the start', () => {
  const field = receptiveField(
    net([
      layer('in', [], [8, 8, 3], { role: 'input' }),
      layer('small', ['in'], [8, 8, 4], conv(1, 1, 'valid')),
      layer('dilated', ['in'], [8, 8, 4], conv(3, 1, [2, 2, 2, 2], 2)),
      layer('sum', ['small', 'dilated'], [8, 8, 4]),
    ]),
    'sum',
  );
  expect(field.x).toEqual({ size: 5, jump: 1, offset: -2 });
});

test('a layer that changes the map size without a window is named, with the sizes', () => {
  const layers = [
    layer('in', [], [8, 8, 3], { role: 'input' }),
    layer('up', ['in'], [16, 16, 3], { type: 'UpSampling2D' }),
    layer('c', ['up'], [16, 16, 4], conv(3, 1, 'same')),
  ];
  expect(() => receptiveField(net(layers), 'c')).toThrow(
    "cannot follow the receptive field of 'c' through 'up' (UpSampling2D): it turns 8x8 maps into 16x16 by a rule cnnviz does not know",
  );
});

describe('every format describes its windows: fields worked by hand', () => {
  test('ONNX: Pad (2 rows, 1 column before), Conv 3x3 stride 2 pads [0, 1, 1, 0], dilated Conv, MaxPool SAME_UPPER', async () => {
    const path = writeOnnxModel(join(mkdtempSync(join(tmpdir(), 'cnnviz-rf-')), 'rf.onnx'), {
      input: { name: 'x', shape: [1, 3, 32, 32] },
      initializers: [
        { name: 'pads', dims: [8], values: [0, 0, 2, 1, 0, 0, 0, 0], int64: true },
        { name: 'w1', dims: [4, 3, 3, 3], values: new Float32Array(108).fill(0.1) },
        { name: 'w2', dims: [4, 4, 3, 3], values: new Float32Array(144).fill(0.1) },
      ],
      nodes: [
        { op: 'Pad', name: 'pad', inputs: ['x', 'pads'] },
        {
          op: 'Conv',
          name: 'strided',
          inputs: ['pad', 'w1'],
          attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [0, 1, 1, 0] },
        },
        {
          op: 'Conv',
          name: 'dilated',
          inputs: ['strided', 'w2'],
          attrs: { kernel_shape: [3, 3], dilations: [2, 2], pads: [2, 2, 2, 2] },
        },
        {
          op: 'MaxPool',
          name: 'pool',
          inputs: ['dilated'],
          attrs: { kernel_shape: [2, 2], strides: [2, 2], auto_pad: 'SAME_UPPER' },
        },
      ],
    });
    const { net } = await openModel(path, { includeTop: true });
    // pad: offset y -2, x -1. strided: size 3, jump 2, offset y -2 - 0 = -2, x -1 - 1 = -2.
    expect(receptiveField(net, 'strided')).toEqual({
      y: { size: 3, jump: 2, offset: -2 },
      x: { size: 3, jump: 2, offset: -2 },
    });
    // dilated: span 5, size 3 + 4 * 2 = 11, offset -2 - 2 * 2 = -6.
    expect(receptiveField(net, 'dilated')).toEqual({
      y: { size: 11, jump: 2, offset: -6 },
      x: { size: 11, jump: 2, offset: -6 },
    });
    // pool on 17x16 maps: SAME_UPPER 2x2 stride 2 pads nothing before; size 11 + 2 = 13, jump 4.
    expect(receptiveField(net, 'pool')).toEqual({
      y: { size: 13, jump: 4, offset: -6 },
      x: { size: 13, jump: 4, offset: -6 },
    });
  });

  test('TensorFlow graph model: fused conv SAME, max pool, depthwise stride 2 SAME, Pad', async () => {
    const g = new GraphModelWriter('input', [16, 16, 3]);
    const nhwc = {
      data_format: stringAttr('NHWC'),
      dilations: intsAttr(1, 1, 1, 1),
      num_args: { i: '1' },
      fused_ops: fusedAttr('BiasAdd'),
    };
    const conv = g.node(
      'conv',
      '_FusedConv2D',
      ['input', g.constant('f', [3, 3, 3, 4], new Float32Array(108)), g.constant('b', [4], [0, 0, 0, 0])],
      { ...nhwc, strides: intsAttr(1, 1, 1, 1), padding: stringAttr('SAME') },
    );
    const pool = g.node('pool', 'MaxPool', [conv], {
      ksize: intsAttr(1, 2, 2, 1),
      strides: intsAttr(1, 2, 2, 1),
      padding: stringAttr('VALID'),
    });
    const dw = g.node(
      'dw',
      'FusedDepthwiseConv2dNative',
      [pool, g.constant('d', [3, 3, 4, 1], new Float32Array(36)), g.constant('db', [4], [0, 0, 0, 0])],
      { ...nhwc, strides: intsAttr(1, 2, 2, 1), padding: stringAttr('SAME') },
    );
    g.node('pad', 'Pad', [dw, g.constant('p', [4, 2], [0, 0, 1, 1, 1, 1, 0, 0], 'int32')]);
    const { net } = await openModel(g.write(mkdtempSync(join(tmpdir(), 'cnnviz-rf-graph-'))), { includeTop: true });
    // conv: 3, 1, -1; pool: 4, 2, -1; depthwise on 8x8 (SAME, stride 2: nothing before): 4 + 2 * 2 = 8, 4, -1; Pad 1: offset -1 - 4 = -5.
    expect(receptiveField(net, 'dw').x).toEqual({ size: 8, jump: 4, offset: -1 });
    expect(receptiveField(net, 'pad').y).toEqual({ size: 8, jump: 4, offset: -5 });
  });
});

test("a torchvision MobileNetV2's field passes Clip's bounds (Constant nodes, no maps) by: worked by hand", async () => {
  const { net } = await openModel(join(FIXTURES, 'onnx', 'tiny_mobilenet.onnx'), { includeTop: true });
  // features.0: 3x3 conv, stride 2, pad 1 (3 pixels, 2 apart, from -1); features.1's depthwise 3x3, stride 1, pad 1 (+2 x 2).
  expect(receptiveField(net, '/features/features.1/conv/conv.0/conv.0.2/Clip')).toEqual({
    y: { size: 7, jump: 2, offset: -3 },
    x: { size: 7, jump: 2, offset: -3 },
  });
});
