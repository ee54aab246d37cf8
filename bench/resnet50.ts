/**
 * A ResNet-50 (torchvision's v1.5: the stride on each first block's 3x3 conv) as an ONNX file,
 * node for node as torch.onnx.export writes it in eval mode (BatchNorm folded into conv
 * biases, names like /layer1/layer1.0/conv1/Conv), with seeded weights: the benchmark's
 * ResNet-50-sized model (25.5 M parameters), made here without Python.
 */
import { seededValues } from '../test/helpers/keras-h5.js';
import { writeOnnxModel, type Initializer, type NodeSpec } from '../test/helpers/onnx-builder.js';

export function writeResnet50(path: string): void {
  const nodes: NodeSpec[] = [];
  const initializers: Initializer[] = [];
  let seed = 1;
  /** A conv of module `module` (torch's dotted path) inside node scope `scope` ('/layer1/layer1.0'). */
  const conv = (
    scope: string,
    module: string,
    input: string,
    cin: number,
    cout: number,
    k: number,
    stride: number,
  ): string => {
    const param = scope ? `${scope.split('/').at(-1)}.${module}` : module;
    initializers.push({
      name: `${param}.weight`,
      dims: [cout, cin, k, k],
      values: seededValues(cout * cin * k * k, seed++, Math.sqrt(2 / (cin * k * k))),
    });
    initializers.push({ name: `${param}.bias`, dims: [cout], values: seededValues(cout, seed++, 0.05) });
    const pad = (k - 1) >> 1;
    const name = `${scope}/${module
      .split('.')
      .map((_, i, all) => all.slice(0, i + 1).join('.'))
      .join('/')}/Conv`;
    nodes.push({
      op: 'Conv',
      name,
      inputs: [input, `${param}.weight`, `${param}.bias`],
      attrs: { kernel_shape: [k, k], strides: [stride, stride], pads: [pad, pad, pad, pad] },
    });
    return name;
  };
  const op = (type: string, name: string, inputs: string[], attrs?: NodeSpec['attrs']): string => {
    nodes.push({ op: type, name, inputs, attrs });
    return name;
  };
  let x = op('Relu', '/relu/Relu', [conv('', 'conv1', 'input', 3, 64, 7, 2)]);
  x = op('MaxPool', '/maxpool/MaxPool', [x], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] });
  let cin = 64;
  [
    [64, 3],
    [128, 4],
    [256, 6],
    [512, 3],
  ].forEach(([width, blocks], stage) => {
    for (let b = 0; b < blocks; b++) {
      const prefix = `/layer${stage + 1}/layer${stage + 1}.${b}`;
      const stride = b === 0 && stage > 0 ? 2 : 1;
      let y = op('Relu', `${prefix}/relu/Relu`, [conv(prefix, 'conv1', x, cin, width, 1, 1)]);
      y = op('Relu', `${prefix}/relu_1/Relu`, [conv(prefix, 'conv2', y, width, width, 3, stride)]);
      y = conv(prefix, 'conv3', y, width, width * 4, 1, 1);
      const shortcut = b === 0 ? conv(prefix, 'downsample.0', x, cin, width * 4, 1, stride) : x;
      x = op('Relu', `${prefix}/relu_2/Relu`, [op('Add', `${prefix}/Add`, [y, shortcut])]);
      cin = width * 4;
    }
  });
  x = op('Flatten', '/Flatten', [op('GlobalAveragePool', '/avgpool/GlobalAveragePool', [x])]);
  initializers.push({ name: 'fc.weight', dims: [1000, 2048], values: seededValues(2048 * 1000, seed++, 0.02) });
  initializers.push({ name: 'fc.bias', dims: [1000], values: seededValues(1000, seed++, 0.01) });
  op('Gemm', '/fc/Gemm', [x, 'fc.weight', 'fc.bias'], { transB: 1 });
  writeOnnxModel(path, { input: { name: 'input', shape: ['batch', 3, 224, 224] }, nodes, initializers });
}
