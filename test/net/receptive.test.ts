/**
 * Receptive fields. VGG16's sizes and jumps are the published ones (conv4_3 sees 92 pixels with
 * a jump of 8, conv5_3 196 and 16); the offsets are worked by hand: each 'same' 3x3 conv pads
 * one pixel of the current jump, so the field of position 0 is centred on (jump - 1) / 2.
 */
import { graphFromKerasConfig } from '../../src/formats/keras/graph.js';
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

const layer = (name: string, inputs: string[], mapShape: [number, number, number], extra: Partial<NetLayer> = {}): NetLayer => ({ index: 0, depth: 0, name, type: 'T', role: 'other', inputs, mapShape, params: 0, ...extra });
const net = (layers: NetLayer[]): Net => ({ name: 'n', format: 'test', layers, input: [8, 8, 3], params: { total: 0 }, unknown: [], sequential: false });
const conv = (kernel: number, stride: number, padding: 'same' | 'valid' | [number, number, number, number], dilation = 1) => ({
  role: 'conv' as const,
  window: { kernel: [kernel, kernel] as [number, number], strides: [stride, stride] as [number, number], dilations: [dilation, dilation] as [number, number], padding },
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
  const layers = [layer('in', [], [8, 8, 3], { role: 'input' }), layer('up', ['in'], [16, 16, 3], { type: 'UpSampling2D' }), layer('c', ['up'], [16, 16, 4], conv(3, 1, 'same'))];
  expect(() => receptiveField(net(layers), 'c')).toThrow("cannot follow the receptive field of 'c' through 'up' (UpSampling2D): it turns 8x8 maps into 16x16 by a rule cnnviz does not know");
});
