/**
 * Any CNN, not only VGG16: the same model and weights read from model.json, .h5 and .keras
 * give the same pictures, and a channels-first model the same pictures as its channels-last twin.
 */
import '@tensorflow/tfjs-backend-cpu';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { resolveArchitecture } from '../../../src/formats/keras/model.js';
import { kerasNet } from '../../../src/formats/keras/net.js';
import { selectFeatureLayers } from '../../../src/net/select.js';
import { inferShapes } from '../../../src/formats/keras/shapes.js';
import { summarize } from '../../../src/net/summary.js';
import { cnnviz } from '../../helpers/cli.js';
import { saveKeras3, saveKerasH5, saveTfjs } from '../../helpers/model-files.js';
import { CAT, TINY_VGG, withTinyVgg } from '../../helpers/paths.js';

const tmp = (prefix: string) => mkdtempSync(join(tmpdir(), `cnnviz-${prefix}-`));

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** A small functional CNN with the layer kinds users' models have: conv, BN, ReLU, pooling, dense. */
function smallCnn(dataFormat: 'channelsLast' | 'channelsFirst', seed = 11): tfl.LayersModel {
  const df = { dataFormat };
  const input = tfl.input({ shape: dataFormat === 'channelsLast' ? [32, 32, 3] : [3, 32, 32], name: 'image' });
  const init = (s: number) => ({
    kernelInitializer: tfl.initializers.glorotUniform({ seed: seed + s }),
    biasInitializer: tfl.initializers.randomUniform({ seed: seed + 50 + s, minval: -0.1, maxval: 0.1 }),
  });
  let x = tfl.layers
    .conv2d({ filters: 6, kernelSize: 3, padding: 'same', name: 'conv_a', ...df, ...init(1) })
    .apply(input) as tfl.SymbolicTensor;
  x = tfl.layers.activation({ activation: 'relu', name: 'relu_a' }).apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.maxPooling2d({ poolSize: 2, name: 'pool_a', ...df }).apply(x) as tfl.SymbolicTensor;
  x = tfl.layers
    .conv2d({ filters: 8, kernelSize: 3, activation: 'relu', name: 'conv_b', ...df, ...init(2) })
    .apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.maxPooling2d({ poolSize: 2, name: 'pool_b', ...df }).apply(x) as tfl.SymbolicTensor;
  const flat = tfl.layers.flatten({ name: 'flat' }).apply(x) as tfl.SymbolicTensor;
  const out = tfl.layers.dense({ units: 4, activation: 'softmax', name: 'probs' }).apply(flat) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: out, name: 'small_cnn' });
}

async function drawAll(model: string, out: string, extra: string[] = []): Promise<Record<string, Buffer>> {
  const result = await cnnviz([
    'featuremaps',
    CAT,
    '--model',
    model,
    '--blocks',
    'all',
    '--layer',
    'conv_a',
    '--save-npy',
    '-o',
    out,
    ...extra,
  ]);
  expect([result.code, result.stderr]).toEqual([0, expect.stringContaining("preprocessing: 'unit'")]);
  return Object.fromEntries(readdirSync(out).map((f) => [f, readFileSync(join(out, f))]));
}

test('the same weights saved as model.json, .h5 and .keras give the same pictures', async () => {
  const model = smallCnn('channelsLast');
  const dir = tmp('formats');
  const files = [
    await saveTfjs(model, dir),
    await saveKerasH5(model, join(dir, 'small.h5')),
    await saveKeras3(model, join(dir, 'small.keras')),
  ];
  const pictures = [];
  for (const file of files) pictures.push(await drawAll(file, tmp('out')));
  expect(Object.keys(pictures[0]).sort()).toEqual(
    ['cat-conv_a.npy', 'cat-conv_a.png', 'cat-relu_a.npy', 'cat-relu_a.png', 'cat-conv_b.npy', 'cat-conv_b.png'].sort(),
  );
  expect(pictures[1]).toEqual(pictures[0]);
  expect(pictures[2]).toEqual(pictures[0]);
  for (const file of files) {
    const summary = summarize(kerasNet((await resolveArchitecture(file, { includeTop: true })).graph));
    expect(summary.totalParams).toBe(model.countParams());
  }
});

test('a channels-first model gives the same pictures as its channels-last twin', async () => {
  const last = smallCnn('channelsLast');
  const first = smallCnn('channelsFirst');
  // Kernels are (kh, kw, in, out) in both layouts: the twins share weights as they are.
  for (const name of ['conv_a', 'conv_b']) first.getLayer(name).setWeights(last.getLayer(name).getWeights());
  const lastPath = await saveKerasH5(last, join(tmp('cl'), 'last.h5'));
  const firstPath = await saveKerasH5(first, join(tmp('cf'), 'first.h5'));
  expect((await resolveArchitecture(firstPath, { includeTop: true })).graph.dataFormat).toBe('channels_first');
  expect(await drawAll(firstPath, tmp('out'))).toEqual(await drawAll(lastPath, tmp('out')));

  const [filtersLast, filtersFirst] = [tmp('out'), tmp('out')];
  await cnnviz(['filters', '--model', lastPath, '--layer', 'conv_b', '-o', filtersLast]);
  await cnnviz(['filters', '--model', firstPath, '--layer', 'conv_b', '-o', filtersFirst]);
  expect(readFileSync(join(filtersFirst, 'filters-conv_b.png'))).toEqual(
    readFileSync(join(filtersLast, 'filters-conv_b.png')),
  );
});

test('a convolution without pooling is one stage; a model without convolutions has none, and the message points to --layer', async () => {
  const input = tfl.input({ shape: [16, 16, 3], name: 'in' });
  const conv = tfl.layers.conv2d({ filters: 2, kernelSize: 3, name: 'only_conv' }).apply(input) as tfl.SymbolicTensor;
  const convNet = kerasNet(
    (
      await resolveArchitecture(await saveTfjs(tfl.model({ inputs: input, outputs: conv }), tmp('nopool')), {
        includeTop: true,
      })
    ).graph,
  );
  expect(selectFeatureLayers(convNet, { blocks: 'all' })).toEqual(['only_conv']);
  const pool = tfl.layers.maxPooling2d({ poolSize: 2, name: 'only_pool' }).apply(input) as tfl.SymbolicTensor;
  const poolNet = kerasNet(
    (
      await resolveArchitecture(await saveTfjs(tfl.model({ inputs: input, outputs: pool }), tmp('noconv')), {
        includeTop: true,
      })
    ).graph,
  );
  expect(() => selectFeatureLayers(poolNet, { blocks: 'all' })).toThrow(
    /has no stages \(no convolution whose maps are larger than 1x1\); pick layers with --layer \(spatial layers: only_pool\)/,
  );
  expect(selectFeatureLayers(poolNet, {})).toEqual(['only_pool']);
});

test('an undefined input size needs --size, and --size gives the maps their size', async () => {
  const dir = tmp('nosize');
  const input = tfl.input({ shape: [null, null, 3], name: 'in' });
  const conv = tfl.layers
    .conv2d({ filters: 2, kernelSize: 3, padding: 'same', name: 'c' })
    .apply(input) as tfl.SymbolicTensor;
  const path = await saveTfjs(tfl.model({ inputs: input, outputs: conv, name: 'open_size' }), dir);
  const out = tmp('out');
  const without = await cnnviz(['featuremaps', CAT, '--model', path, '-o', out]);
  expect(without.code).toBe(2);
  expect(without.stderr).toContain('cnnviz: open_size leaves its input size undefined; give one with --size WxH');
  const sized = await cnnviz(['featuremaps', CAT, '--model', path, '--size', '40x30', '--json', '-o', out]);
  expect(sized.code).toBe(0);
  expect(JSON.parse(sized.stdout).files[0].shows).toMatch(/^c 30x40: 2 of 2 maps/);
});

test('a layer class TensorFlow.js cannot run is named with the model, not a crash deep inside tfjs', async () => {
  const dir = tmp('unknown');
  const input = tfl.input({ shape: [8, 8, 3], name: 'in' });
  const a = tfl.layers.conv2d({ filters: 2, kernelSize: 3, name: 'a' }).apply(input) as tfl.SymbolicTensor;
  const b = tfl.layers.conv2d({ filters: 2, kernelSize: 3, name: 'b' }).apply(input) as tfl.SymbolicTensor;
  const diff = tfl.layers.add({ name: 'diff' }).apply([a, b]) as tfl.SymbolicTensor;
  const path = await saveTfjs(tfl.model({ inputs: input, outputs: diff, name: 'odd' }), dir);
  const json = JSON.parse(readFileSync(path, 'utf8'));
  json.modelTopology.config.layers[3].class_name = 'Subtract';
  writeFileSync(path, JSON.stringify(json));
  const summary = await cnnviz(['summary', '--model', path]);
  expect(summary.stdout).toMatch(/diff \(Subtract\)\s+\(None, 6, 6, 2\)\s+0/);
  const result = await cnnviz([
    'featuremaps',
    CAT,
    '--model',
    path,
    '--layer',
    'diff',
    '--backend',
    'wasm',
    '-o',
    tmp('out'),
  ]);
  expect([result.code, result.stderr.trim().split('\n').pop()]).toEqual([
    1,
    "cnnviz: model 'odd' uses layer class Subtract, which TensorFlow.js cannot run",
  ]);
  // ONNX Runtime expresses Subtract, so the default engine draws it.
  const onnx = await cnnviz(['featuremaps', CAT, '--model', path, '--layer', 'diff', '--verbose', '-o', tmp('out')]);
  expect(onnx.code).toBe(0);
  expect(onnx.stderr).toContain('backend: onnx');
});

describe('the shared tiny-vgg model (a real trained third-party model)', () => {
  const run = withTinyVgg();

  run('summary counts 19,920 parameters', async () => {
    const arch = await resolveArchitecture(TINY_VGG, { includeTop: true });
    expect(summarize(kerasNet(arch.graph)).totalParams).toBe(19_920);
    const { stdout } = await cnnviz(['summary', '--model', TINY_VGG]);
    expect(stdout).toContain('Total params: 19,920');
  });

  run('blocks are relu_1_2 and relu_2_2, its ReLUs being separate layers', async () => {
    const arch = await resolveArchitecture(TINY_VGG, { includeTop: true });
    expect(selectFeatureLayers(kerasNet(arch.graph), { blocks: 'all' })).toEqual(['relu_1_2', 'relu_2_2']);
    expect(
      inferShapes(arch.graph)
        .find((s) => s.layer.name === 'conv_1_1')!
        .weights!.map((w) => w.shape),
    ).toEqual([[3, 3, 3, 10], [10]]);
  });

  run(
    'featuremaps of the cat at 64x64 with unit preprocessing draws 2 mosaics; filters of conv_1_1 draws 3x3x3x10',
    async () => {
      const out = tmp('tiny');
      const maps = await cnnviz([
        'featuremaps',
        CAT,
        '--model',
        TINY_VGG,
        '--blocks',
        'all',
        '--preprocess',
        'unit',
        '-o',
        out,
      ]);
      expect(maps.code).toBe(0);
      expect(maps.stdout).toMatch(/cat-relu_1_2\.png.*relu_1_2 60x60: 10 of 10 maps/);
      expect(maps.stdout).toMatch(/cat-relu_2_2\.png.*relu_2_2 26x26: 10 of 10 maps/);
      const filters = await cnnviz([
        'filters',
        '--model',
        TINY_VGG,
        '--layer',
        'conv_1_1',
        '--count',
        'all',
        '-o',
        out,
      ]);
      expect(filters.stdout).toContain('conv_1_1 kernel 3x3x3x10: 10 filters (rows) x 3 input channels');
      expect(readdirSync(out).sort()).toEqual(['cat-relu_1_2.png', 'cat-relu_2_2.png', 'filters-conv_1_1.png']);
    },
  );

  run('filters on a non-conv layer says which layers would work', async () => {
    const { code, stderr } = await cnnviz(['filters', '--model', TINY_VGG, '--layer', 'relu_1_1']);
    expect(code).toBe(2);
    expect(stderr).toContain(
      "'relu_1_1' (Activation) is not a convolutional layer; convolutional layers of sequential: 0:conv_1_1, 2:conv_1_2, 5:conv_2_1, 7:conv_2_2",
    );
  });
});

test("model.json shard paths that leave the model's folder are refused, named as written", async () => {
  const dir = tmp('escape');
  const input = tfl.input({ shape: [8, 8, 3], name: 'in' });
  const conv = tfl.layers.conv2d({ filters: 2, kernelSize: 3, name: 'c' }).apply(input) as tfl.SymbolicTensor;
  const path = await saveTfjs(tfl.model({ inputs: input, outputs: conv }), dir);
  writeFileSync(join(dir, '..', 'outside.bin'), readFileSync(join(dir, 'group1-shard1of1.bin')));
  for (const shard of ['../../etc/passwd', '../outside.bin', '/etc/passwd']) {
    const json = JSON.parse(readFileSync(path, 'utf8'));
    json.weightsManifest[0].paths = [shard];
    writeFileSync(path, JSON.stringify(json));
    const { code, stderr } = await cnnviz(['filters', '--model', path, '-o', join(dir, 'out')]);
    expect([code, stderr]).toEqual([
      2,
      `cnnviz: '${path}' names weight shard '${shard}', which is outside the model's folder; refused\n`,
    ]);
  }
});
