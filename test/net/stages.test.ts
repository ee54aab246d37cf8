/**
 * The stage rule: a stage ends at the last layer of each resolution (output stride), counted
 * only where a convolution computes at that resolution; the input, pads and 1x1 maps start none.
 */
import { graphFromKerasConfig } from '../../src/formats/keras/graph.js';
import { kerasNet } from '../../src/formats/keras/net.js';
import { vggConfig } from '../../src/formats/vgg.js';
import type { LayerRole, Net, NetLayer } from '../../src/net/net.js';
import { mainPath, stageEnds, strideLevel } from '../../src/net/stages.js';

/** A chain of layers, each given as [name, role, height] (square maps, 4 channels). */
function chain(input: number, layers: Array<[string, LayerRole, number]>): Net {
  const net: NetLayer[] = layers.map(([name, role, size], index) => ({
    index,
    depth: 0,
    name,
    type: role,
    role,
    inputs: index ? [layers[index - 1][0]] : [],
    readsInput: index === 0,
    mapShape: [size, size, 4],
    params: 0,
  }));
  return {
    name: 'chain',
    format: 'test',
    layers: net,
    input: [input, input, 3],
    params: { total: 0 },
    unknown: [],
    sequential: true,
  };
}

test('VGG16 keeps its five blocks: block1_conv2, block2_conv2, block3_conv3, block4_conv3, block5_conv3', () => {
  const vgg16 = kerasNet(graphFromKerasConfig(vggConfig('vgg16', true)));
  expect(stageEnds(vgg16).map((l) => [l.index, l.name])).toEqual([
    [2, 'block1_conv2'],
    [5, 'block2_conv2'],
    [9, 'block3_conv3'],
    [13, 'block4_conv3'],
    [17, 'block5_conv3'],
  ]);
});

test('the level is log2 of input over map size, rounded: a valid 3x3 conv (64 to 62) stays, a pool (to 30) moves on', () => {
  expect([62, 60, 30, 26, 13, 8].map((s) => strideLevel([64, 64], [s, s]))).toEqual([0, 0, 1, 1, 2, 3]);
  expect([149, 147, 73, 71, 35, 17, 8].map((s) => strideLevel([299, 299], [s, s]))).toEqual([1, 1, 2, 2, 3, 4, 5]);
});

test('strided convolutions end stages without any pooling layer', () => {
  const net = chain(32, [
    ['stem', 'conv', 16],
    ['stem_relu', 'other', 16],
    ['down1', 'conv', 8],
    ['block1', 'conv', 8],
    ['block1_relu', 'other', 8],
    ['down2', 'conv', 4],
    ['head', 'other', 4],
  ]);
  expect(stageEnds(net).map((l) => l.name)).toEqual(['stem_relu', 'block1_relu', 'head']);
});

test('pads, 1x1 maps and runs without a convolution start no stage; the input is never one', () => {
  const net = chain(32, [
    ['input', 'input', 32],
    ['pre', 'other', 32],
    ['pad', 'pad', 34],
    ['conv', 'conv', 16],
    ['relu', 'other', 16],
    ['squeeze', 'other', 1],
    ['excite', 'conv', 1],
    ['scale', 'other', 16],
    ['pool', 'other', 8],
  ]);
  expect(stageEnds(net).map((l) => l.name)).toEqual(['scale']);
});

test('a model of undefined input size has no stages yet', () => {
  const net = chain(32, [['conv', 'conv', 16]]);
  expect(stageEnds({ ...net, input: [null, null, 3] })).toEqual([]);
});

/** The stage ends of an exported network in fixtures/onnx-stages (made by its make_fixtures.py). */
async function exportedEnds(name: string): Promise<string[]> {
  const { openModel } = await import('../../src/formats/model.js');
  const { net } = await openModel(`fixtures/onnx-stages/${name}.onnx`, { includeTop: true });
  return stageEnds(net).map((l) => l.name);
}

test("ResNet-50 v1.5's bottlenecks: a stage ends at its last block's ReLU, not at the next stage's first 1x1 ReLU", async () => {
  expect(await exportedEnds('bottleneck')).toEqual([
    '/relu/Relu',
    '/layer1/layer1.1/relu_2/Relu',
    '/layer2/layer2.1/relu_2/Relu',
  ]);
});

test('an Xception-like entry flow: stages end at the residual sums, not at a separable conv inside a branch', async () => {
  expect(await exportedEnds('xception')).toEqual(['/relu_1/Relu', '/block1/Add', '/relu_2/Relu']);
});

test('a U-Net: its encoder levels, then its decoder levels, bridged by skips (no layer of a deep level dominates)', async () => {
  expect(await exportedEnds('unet')).toEqual([
    '/enc1/enc1.3/Relu',
    '/enc2/enc2.3/Relu',
    '/enc3/enc3.3/Relu',
    '/dec2/dec2.3/Relu',
    '/out/Conv',
  ]);
});

test("a U²-Net: a U-Net of residual blocks that are U-Nets themselves: the blocks' inner levels start no stages", async () => {
  expect(await exportedEnds('u2net')).toEqual([
    '/stage1/Add',
    '/stage2/Add',
    '/stage3/Add',
    '/stage2d/Add',
    '/Sigmoid',
  ]);
});

test('the main path is the longest input-to-output path; its dominators are the layers every path passes through', () => {
  // input -> a -> {b -> c, d} -> e: b and c form the longer branch, d the shortcut.
  const layer = (name: string, inputs: string[]): NetLayer => ({
    index: 0,
    depth: 0,
    name,
    type: 'x',
    role: name === 'input' ? 'input' : 'other',
    inputs,
    params: 0,
  });
  const net: Net = {
    name: 'branch',
    format: 'test',
    layers: [
      layer('input', []),
      layer('a', ['input']),
      layer('b', ['a']),
      layer('d', ['a']),
      layer('c', ['b']),
      layer('e', ['c', 'd']),
      layer('constant', []),
    ],
    input: [8, 8, 3],
    params: { total: 0 },
    unknown: [],
    sequential: false,
  };
  const { path, dominators } = mainPath(net);
  expect(path).toEqual(['input', 'a', 'b', 'c', 'e']);
  expect([...dominators].sort()).toEqual(['a', 'e', 'input']);
});
