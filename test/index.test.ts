/** cnnviz as a library: the exported functions return what the CLI draws, checked against PyTorch. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CnnvizError, featureMaps, filters, summary } from '../src/index.js';
import { maxAbsDiff, scaleOf } from './helpers/compare.js';
import { parseNpy } from './helpers/npy.js';
import { FIXTURES } from './helpers/paths.js';

const MODEL = join(FIXTURES, 'onnx', 'tiny_resnet.onnx');
const facts = JSON.parse(readFileSync(join(FIXTURES, 'onnx', 'expected', 'tiny_resnet.json'), 'utf8'));

test('summary returns the table as data', async () => {
  const result = await summary({ model: MODEL });
  expect([result.totalParams, result.rows.length]).toEqual([facts.params, facts.nodes]);
});

test('featureMaps returns channels-last activations equal to PyTorch', async () => {
  const [result] = await featureMaps([join(FIXTURES, 'onnx', 'cat64.png')], {
    model: MODEL,
    layers: ['/layer2/layer2.0/relu_1/Relu'],
  });
  const torch = parseNpy(readFileSync(join(FIXTURES, 'onnx', 'expected', 'tiny_resnet-layer2.npy')));
  const [c, h, w] = torch.shape;
  expect(result.maps[0].shape).toEqual([h, w, c]);
  const hwc = new Float32Array(torch.data.length);
  for (let k = 0; k < c; k++) for (let i = 0; i < h * w; i++) hwc[i * c + k] = torch.data[k * h * w + i];
  expect(maxAbsDiff(result.maps[0].data, hwc) / scaleOf(hwc)).toBeLessThan(1e-4);
});

test('filters returns the first convolution; a wrong layer throws a CnnvizError with exit code 2', async () => {
  const result = await filters({ model: MODEL });
  expect([result.layer, result.kernel.shape]).toEqual([facts.firstConv, [7, 7, 3, 8]]);
  await expect(filters({ model: MODEL, layer: '/relu/Relu' })).rejects.toMatchObject({
    constructor: CnnvizError,
    exitCode: 2,
  });
});

describe('options are checked as the command line checks its flags: a CnnvizError with exit code 2, naming the option', () => {
  const CAT64 = join(FIXTURES, 'onnx', 'cat64.png');
  test.each([
    [
      'a model that is not text',
      () => summary({ model: 42 as never }),
      /^summary options: model: Invalid input: expected string, received number$/,
    ],
    ['a size that is not two sides', () => summary({ model: MODEL, size: [64] as never }), /^summary options: size: /],
    [
      'a layer that is a list',
      () => filters({ model: MODEL, layer: ['conv1'] as never }),
      /^filters options: layer: Invalid input: expected string, received array$/,
    ],
    [
      'an unknown engine',
      () => featureMaps([CAT64], { model: MODEL, engine: 'gpu' as never }),
      /^featureMaps options: engine: Invalid option: expected one of "auto"\|"onnx"\|"tensorflow"\|"wasm"\|"cpu"$/,
    ],
    [
      'an unknown resize',
      () => featureMaps([CAT64], { model: MODEL, resize: 'lanczos' as never }),
      /^featureMaps options: resize: Invalid option: expected one of "nearest"\|"bilinear"\|"area"$/,
    ],
    [
      'an unknown option',
      () => featureMaps([CAT64], { model: MODEL, layer: 'x' } as never),
      /^featureMaps options: Unrecognized key: "layer"$/,
    ],
    [
      'images that are not a list',
      () => featureMaps(CAT64 as never, { model: MODEL }),
      /^featureMaps images: Invalid input: expected array, received string$/,
    ],
  ])('%s', async (_name, call, message) => {
    const error = await call().then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(CnnvizError);
    expect(error).toMatchObject({ exitCode: 2 });
    expect((error as Error).message).toMatch(message);
  });
});
