import { graphFromKerasConfig } from '../../src/formats/keras/graph.js';
import { kerasNet } from '../../src/formats/keras/net.js';
import { vggConfig } from '../../src/formats/vgg.js';
import { closestName, findLayer } from '../../src/net/lookup.js';
import { isConvolution, type Net } from '../../src/net/net.js';

const vgg16 = kerasNet(graphFromKerasConfig(vggConfig('vgg16', true)));

test('a layer is found by name or by its index', () => {
  expect(findLayer(vgg16, 'block3_conv1').index).toBe(7);
  expect(findLayer(vgg16, '17').name).toBe('block5_conv3');
});

test('an unknown layer name suggests the closest one and lists the valid names', () => {
  expect(() => findLayer(vgg16, 'block1_cnv1')).toThrow(
    /no layer 'block1_cnv1' in vgg16\. Did you mean 'block1_conv1'\?.*1:block1_conv1/,
  );
  expect(closestName('zzzzzzzzzzzz', ['block1_conv1'])).toBeUndefined();
});

test('a layer outside the allowed kind is named with its type and the layers that would work', () => {
  expect(() => findLayer(vgg16, 'block1_pool', vgg16.layers.filter(isConvolution), 'convolutional layer')).toThrow(
    /'block1_pool' \(MaxPooling2D\) is not a convolutional layer.*2:block1_conv2/,
  );
});

test("another name of a layer's output (an ONNX tensor name) finds the layer; long lists are cut", () => {
  const layers = Array.from({ length: 60 }, (_, i) => ({
    index: i,
    depth: 0,
    name: `/n${i}/Relu`,
    type: 'Relu',
    role: 'other' as const,
    inputs: [],
    params: 0,
    aliases: [`t${i}`],
  }));
  const net: Net = {
    name: 'm',
    format: 'onnx',
    layers,
    input: [8, 8, 3],
    params: { total: 0 },
    unknown: [],
    sequential: false,
  };
  expect(findLayer(net, 't7').name).toBe('/n7/Relu');
  expect(() => findLayer(net, '/n7/Rellu')).toThrow(
    /Did you mean '\/n7\/Relu'\?.*39:\/n39\/Relu, \.\.\. \(20 more; see 'cnnviz summary'\)/,
  );
});

test('a unique trailing part of a path-like name finds the layer; an ambiguous one lists the matches', () => {
  const names = ['/layer1/layer1.0/relu/Relu', '/layer1/layer1.1/relu/Relu', '/layer1/layer1.1/relu_1/Relu'];
  const layers = names.map((name, index) => ({
    index,
    depth: 0,
    name,
    type: 'Relu',
    role: 'other' as const,
    inputs: [],
    params: 0,
  }));
  const net: Net = {
    name: 'r',
    format: 'onnx',
    layers,
    input: [8, 8, 3],
    params: { total: 0 },
    unknown: [],
    sequential: true,
  };
  expect(findLayer(net, 'relu_1/Relu').index).toBe(2);
  expect(findLayer(net, 'layer1.0/relu/Relu').index).toBe(0);
  expect(() => findLayer(net, 'relu/Relu')).toThrow(
    "'relu/Relu' ends 2 layer names (0:/layer1/layer1.0/relu/Relu, 1:/layer1/layer1.1/relu/Relu); give more of the name",
  );
});
