/**
 * The pictures from a real Keras-layout weights file (VGG16 no-top shapes, seeded values,
 * written by the test): what is drawn must be what the file and the model hold.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildModel, predict } from '../../src/formats/keras/tfjs-model.js';
import { initBackend } from '../../src/engines/backend.js';
import { graphFromKerasConfig } from '../../src/formats/keras/graph.js';
import { openKerasWeights } from '../../src/weights/h5.js';
import { decodeImage } from '../../src/image/decode.js';
import { resizeNearest } from '../../src/image/resize.js';
import { preprocessCaffe } from '../../src/image/preprocess.js';
import { vggConfig } from '../../src/formats/vgg.js';
import { BUILTIN_MODELS } from '../../src/formats/builtin.js';
import { cnnviz, readPng } from '../helpers/cli.js';
import { layersFor, seededVgg16Weights, writeKerasH5 } from '../helpers/keras-h5.js';
import { parseNpy } from '../helpers/npy.js';
import { CAT, FIXTURES } from '../helpers/paths.js';
import { serveFiles } from '../helpers/server.js';
import { maxAbsDiff, scaleOf } from '../helpers/compare.js';

const tmp = (prefix: string) => mkdtempSync(join(tmpdir(), `cnnviz-${prefix}-`));
let weightsPath: string;

beforeAll(async () => {
  weightsPath = await seededVgg16Weights();
});

test('filters draws the kernel the file holds, one min-max over the layer', async () => {
  const out = tmp('out');
  const { code } = await cnnviz(['filters', '--weights', weightsPath, '-o', out]);
  expect(code).toBe(0);
  const file = await openKerasWeights(weightsPath);
  const [kernel] = file.read(['block1_conv1']).get('block1_conv1')!;
  file.close();
  let [min, max] = [Infinity, -Infinity];
  kernel.data.forEach((v) => ([min, max] = [Math.min(min, v), Math.max(max, v)]));
  const png = readPng(join(out, 'filters-block1_conv1.png'));
  // Filter f, channel c, kernel cell (i, j) sits at tile (row f, column c); 11x enlarged 3x3 tiles, 2 px apart.
  for (const [f, c, i, j] of [
    [0, 0, 0, 0],
    [2, 1, 1, 2],
    [5, 2, 2, 1],
  ]) {
    const x = 2 + c * 35 + j * 11 + 5;
    const y = 2 + f * 35 + i * 11 + 5;
    const value = kernel.data[((i * 3 + j) * 3 + c) * 64 + f];
    const expected = Math.floor(((value - min) / (max - min)) * 256);
    expect(png.data[(y * png.width + x) * 4]).toBe(Math.min(255, expected));
  }
});

test('--save-npy writes the activations of the model, the same from ONNX Runtime and from tfjs wasm', async () => {
  await initBackend('wasm');
  const file = await openKerasWeights(weightsPath);
  const weights = file.read();
  file.close();
  const model = await buildModel(graphFromKerasConfig(vggConfig('vgg16', false)), ['block1_conv2', 'block5_conv3'], {
    weights,
  });
  const input = preprocessCaffe(resizeNearest(await decodeImage(CAT), 224, 224).data);
  const reference = await predict(model, input, [1, 224, 224, 3]);
  model.dispose();
  expect(scaleOf(reference[1])).toBeGreaterThan(0);

  for (const engine of ['wasm', 'onnx']) {
    const out = tmp('out');
    const { code, stdout, stderr } = await cnnviz([
      'featuremaps',
      CAT,
      '--blocks',
      '1,5',
      '--weights',
      weightsPath,
      '--save-npy',
      '--backend',
      engine,
      '--verbose',
      '-o',
      out,
    ]);
    expect(code).toBe(0);
    expect(stderr).toContain(`backend: ${engine}`);
    expect(readdirSync(out).sort()).toEqual([
      'cat-block1_conv2.npy',
      'cat-block1_conv2.png',
      'cat-block5_conv3.npy',
      'cat-block5_conv3.png',
    ]);
    expect(stdout).toContain('block5_conv3 raw activations float32 (14, 14, 512)');
    const saved = ['block1_conv2', 'block5_conv3'].map((layer) =>
      parseNpy(readFileSync(join(out, `cat-${layer}.npy`))),
    );
    expect(saved.map((s) => s.shape)).toEqual([
      [224, 224, 64],
      [14, 14, 512],
    ]);
    saved.forEach((s, i) => {
      const tolerance = engine === 'wasm' ? 0 : 1e-4 * scaleOf(reference[i]);
      expect(maxAbsDiff(s.data, reference[i])).toBeLessThanOrEqual(tolerance);
    });
  }
});

test('a weights file of another model, or of other shapes, is refused, naming the layer, and nothing is written', async () => {
  const out = tmp('out');
  const other = await cnnviz(['featuremaps', CAT, '--weights', join(FIXTURES, 'keras-h5', 'tiny_conv.h5'), '-o', out]);
  expect(other.code).toBe(1);
  expect(other.stderr.trim()).toMatch(
    /^cnnviz: weights file '.*tiny_conv\.h5' has no weights for layer 'block1_conv1': is it a file for another model\?$/,
  );

  const narrow = vggConfig('vgg16', false);
  narrow.config.layers[1].config.filters = 32;
  narrow.config.layers[2].config.filters = 32;
  const narrowPath = join(tmp('weights'), 'narrow.h5');
  await writeKerasH5(
    narrowPath,
    layersFor(narrow).filter((l) => l.name.startsWith('block1')),
  );
  const shapes = await cnnviz(['filters', '--layer', 'block1_conv2', '--weights', narrowPath, '-o', out]);
  expect(shapes.code).toBe(1);
  expect(shapes.stderr.trim()).toBe(
    `cnnviz: weights file '${narrowPath}': layer 'block1_conv2' weight 'block1_conv2/kernel:0' has shape (3, 3, 32, 32), the model expects (3, 3, 64, 64)`,
  );
  expect(readdirSync(out)).toEqual([]);
});

test('a downloaded file that fails the md5 check is refused from the CLI and nothing is cached', async () => {
  const body = readFileSync(weightsPath);
  const server = await serveFiles({ [BUILTIN_MODELS.vgg16.weights.notop.fileName]: { body } });
  const home = tmp('home');
  const env = {
    HOME: home,
    CNNVIZ_CACHE: join(home, 'cache'),
    KERAS_HOME: join(home, 'keras'),
    CNNVIZ_WEIGHTS_BASE_URL: server.baseUrl,
  };
  const { code, stderr } = await cnnviz(['filters', '-o', join(home, 'out')], env);
  await server.close();
  expect(code).toBe(1);
  expect(stderr).toContain('downloading vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5');
  expect(stderr).toContain(
    `is corrupt: md5 ${createHash('md5').update(body).digest('hex')}, expected 6d6bbae143d832006294945121d1f1fc`,
  );
  expect(existsSync(env.CNNVIZ_CACHE) ? readdirSync(env.CNNVIZ_CACHE) : []).toEqual([]);
});
