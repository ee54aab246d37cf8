/**
 * A shape rule that fails is never swallowed: the layer shows '?' and counts among the unknown
 * in the summary, and --verbose says which layer, which op and why.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cnnviz } from '../helpers/cli.js';
import { GraphModelWriter, intsAttr, stringAttr } from '../helpers/graph-model.js';

const dir = mkdtempSync(join(tmpdir(), 'cnnviz-shape-problems-'));

test('Keras: a Dense after maps of free size says the dimension it needs', async () => {
  const layers = [
    { class_name: 'InputLayer', config: { name: 'input', batch_input_shape: [null, null, null, 3], dtype: 'float32' } },
    {
      class_name: 'Conv2D',
      config: {
        name: 'conv',
        filters: 4,
        kernel_size: [3, 3],
        strides: [1, 1],
        padding: 'valid',
        data_format: 'channels_last',
        dilation_rate: [1, 1],
        use_bias: true,
        activation: 'relu',
      },
    },
    { class_name: 'Flatten', config: { name: 'flatten', data_format: 'channels_last' } },
    { class_name: 'Dense', config: { name: 'dense', units: 2, activation: 'linear', use_bias: true } },
  ];
  const path = join(dir, 'model.json');
  writeFileSync(
    path,
    JSON.stringify({
      format: 'layers-model',
      modelTopology: { class_name: 'Sequential', config: { name: 'free', layers } },
      weightsManifest: [],
    }),
  );
  const { code, stdout, stderr } = await cnnviz(['summary', '--model', path, '--verbose']);
  expect(code).toBe(0);
  expect(stdout).toMatch(/dense \(Dense\)\s+\?/);
  expect(stdout).toContain('(? = unknown to cnnviz, left out of the totals: dense)');
  expect(stderr).toContain("cnnviz: shape of 'dense' (Dense) unknown: the input size of a Dense layer must be known");
});

test('graph model: a pool with a padding TensorFlow does not define says so', async () => {
  const g = new GraphModelWriter('input', [8, 8, 3]);
  g.node('pool', 'MaxPool', ['input'], {
    ksize: intsAttr(1, 2, 2, 1),
    strides: intsAttr(1, 2, 2, 1),
    padding: stringAttr('SIDEWAYS'),
    data_format: stringAttr('NHWC'),
  });
  g.node('relu', 'Relu', ['pool']);
  const path = g.write(join(dir, 'graph'));
  const { code, stdout, stderr } = await cnnviz(['summary', '--model', path, '--verbose']);
  expect(code).toBe(0);
  expect(stdout).toContain('(? = unknown to cnnviz: pool, relu)');
  expect(stderr).toContain("cnnviz: shape of 'pool' (MaxPool) unknown: padding SIDEWAYS");
  // Without --verbose the table alone speaks.
  expect((await cnnviz(['summary', '--model', path])).stderr).toBe('');
});

test('a graph of a thousand unknown nodes names five in one line, and --verbose all of them', async () => {
  const g = new GraphModelWriter('input', [8, 8, 3]);
  let x = 'input';
  for (let i = 0; i < 1000; i++) x = g.node(`model/unknown_op_${i}`, 'SomethingNew', [x]);
  const path = g.write(join(dir, 'thousand'));
  const { code, stdout } = await cnnviz(['summary', '--model', path]);
  expect(code).toBe(0);
  const line = stdout.split('\n').filter((l) => l.includes('unknown to cnnviz'));
  expect(line).toEqual([
    '(? = unknown to cnnviz: unknown_op_0, unknown_op_1, unknown_op_2, unknown_op_3, unknown_op_4 … and 995 more; --verbose lists them)',
  ]);
  const verbose = (await cnnviz(['summary', '--model', path, '--verbose'])).stdout;
  expect(verbose).toContain('unknown_op_998, unknown_op_999)');
});
