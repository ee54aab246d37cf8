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
  expect(() => findLayer(vgg16, 'block1_cnv1')).toThrow(/no layer 'block1_cnv1' in vgg16\. Did you mean 'block1_conv1'\?.*1:block1_conv1/);
  expect(closestName('zzzzzzzzzzzz', ['block1_conv1'])).toBeUndefined();
});

test('a layer outside the allowed kind is named with its type and the layers that would work', () => {
  expect(() => findLayer(vgg16, 'block1_pool', vgg16.layers.filter(isConvolution), 'convolutional layer')).toThrow(
    /'block1_pool' \(MaxPooling2D\) is not a convolutional layer.*2:block1_conv2/,
  );
});

test("another name of a layer's output (an ONNX tensor name) finds the layer; long lists are cut", () => {
  const layers = Array.from({ length: 60 }, (_, i) => ({ index: i, depth: 0, name: `/n${i}/Relu`, type: 'Relu', role: 'other' as const, inputs: [], params: 0, aliases: [`t${i}`] }));
  const net: Net = { name: 'm', format: 'onnx', layers, input: [8, 8, 3], params: { total: 0 }, unknown: [], sequential: false };
  expect(findLayer(net, 't7').name).toBe('/n7/Relu');
  expect(() => findLayer(net, '/n7/Rellu')).toThrow(/Did you mean '\/n7\/Relu'\?.*39:\/n39\/Relu, \.\.\. \(20 more; see 'cnnviz summary'\)/);
});
