/** A file whose nodes feed each other in a ring is named as such, in one line, for every format. */
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findCycle } from '../../src/net/net.js';
import { cnnviz } from '../helpers/cli.js';
import { writeOnnxModel } from '../helpers/onnx-builder.js';

const dir = mkdtempSync(join(tmpdir(), 'cnnviz-cycles-'));
const layer = (name: string, ...inputs: string[]) => ({ name, inputs });

test('the ring as data flows, the first layer again at its end; none in a network with branches', () => {
  expect(findCycle([layer('a'), layer('b', 'a', 'd'), layer('c', 'b'), layer('d', 'c')])).toEqual(['b', 'c', 'd', 'b']);
  expect(findCycle([layer('a', 'a')])).toEqual(['a', 'a']);
  expect(findCycle([layer('a'), layer('b', 'a'), layer('c', 'a'), layer('d', 'b', 'c')])).toBeUndefined();
  // Deep chains need no recursion.
  const chain = Array.from({ length: 20000 }, (_, i) => layer(`l${i}`, ...(i ? [`l${i - 1}`] : [])));
  expect(findCycle(chain)).toBeUndefined();
});

test.each([
  [
    'ONNX',
    () =>
      writeOnnxModel(join(dir, 'ring.onnx'), {
        input: { name: 'x', shape: [1, 3, 8, 8] },
        nodes: [
          { op: 'Relu', name: 'a', inputs: ['x'] },
          { op: 'Add', name: 'add', inputs: ['a', 'c'] },
          { op: 'Relu', name: 'c', inputs: ['add'] },
        ],
      }),
    'add -> c -> add',
  ],
  [
    'a TensorFlow.js graph model',
    () => {
      const folder = join(dir, 'graph');
      mkdirSync(folder);
      const T = { T: { type: 'DT_FLOAT' } };
      const node = [
        {
          name: 'input',
          op: 'Placeholder',
          attr: {
            dtype: { type: 'DT_FLOAT' },
            shape: { shape: { dim: [{ size: '-1' }, { size: '8' }, { size: '8' }, { size: '3' }] } },
          },
        },
        { name: 'a', op: 'Relu', input: ['c'], attr: T },
        { name: 'b', op: 'AddV2', input: ['input', 'a'], attr: T },
        { name: 'c', op: 'Relu', input: ['b'], attr: T },
      ];
      writeFileSync(
        join(folder, 'model.json'),
        JSON.stringify({
          format: 'graph-model',
          modelTopology: { node, library: {}, versions: {} },
          weightsManifest: [],
        }),
      );
      return join(folder, 'model.json');
    },
    'a -> b -> c -> a',
  ],
])('%s: one line naming the ring, exit 2', async (_format, make, ring) => {
  const model = make();
  const { code, stderr } = await cnnviz(['summary', '--model', model]);
  expect(stderr).toBe(
    `cnnviz: '${model}' is no network cnnviz can run: its layers feed each other in a cycle (${ring})\n`,
  );
  expect(code).toBe(2);
});
