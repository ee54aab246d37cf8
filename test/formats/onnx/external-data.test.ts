/**
 * External data is read only from inside the model's folder, and only as far as it goes: a
 * location that climbs out ('..', an absolute path, a symbolic link out), a folder, a short
 * file or a bad offset each get one line and exit 2; nothing is read from elsewhere, and no
 * picture is written. The model.json shard rule, the same for both.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { cnnviz, readPng } from '../../helpers/cli.js';
import { parseNpy } from '../../helpers/npy.js';
import { FIXTURES } from '../../helpers/paths.js';
import { onnxModelBytes } from '../../helpers/onnx-builder.js';

const { onnx } = onnxProto;
const CAT64 = join(FIXTURES, 'onnx', 'cat64.png');
const root = mkdtempSync(join(tmpdir(), 'cnnviz-external-'));
/** A file outside every model folder, of the weights' size, that must never be read as weights. */
const SECRET = join(root, 'secret.bin');
writeFileSync(SECRET, Buffer.from(new Float32Array([9, 9, 9, 9, 9, 9]).buffer));

/** A 1x1 Conv whose weights (24 bytes) lie in external data, its entries as given. */
function modelWith(entries: Record<string, string>, prepare: (folder: string) => void = () => undefined): string {
  const folder = mkdtempSync(join(root, 'model-'));
  const bytes = onnxModelBytes({
    input: { name: 'x', shape: [1, 3, 8, 8] },
    initializers: [{ name: 'w', dims: [2, 3, 1, 1], values: [1, 2, 3, 4, 5, 6] }],
    nodes: [{ op: 'Conv', name: 'conv', inputs: ['x', 'w'], attrs: { kernel_shape: [1, 1] } }],
    external: { file: 'model.onnx.data', dir: folder },
  });
  const model = onnx.ModelProto.decode(bytes);
  model.graph!.initializer![0].externalData = Object.entries(entries).map(([key, value]) => ({ key, value }));
  writeFileSync(join(folder, 'model.onnx'), onnx.ModelProto.encode(model).finish());
  prepare(folder);
  return join(folder, 'model.onnx');
}

const climbs = '../'.repeat(12) + SECRET.slice(1);
const CASES: Array<[string, () => string, RegExp]> = [
  [
    'a location climbing out with ..',
    () => modelWith({ location: climbs, offset: '0', length: '24' }),
    /keeps tensor 'w' in '(\.\.\/)+.*secret\.bin', which is outside the model's folder; refused/,
  ],
  [
    'an absolute location',
    () => modelWith({ location: SECRET, offset: '0', length: '24' }),
    /keeps tensor 'w' in '\/.*secret\.bin', which is outside the model's folder; refused/,
  ],
  [
    '/etc/passwd',
    () => modelWith({ location: '../../../../../../etc/passwd' }),
    /keeps tensor 'w' in '(\.\.\/)+etc\/passwd', which is outside the model's folder; refused/,
  ],
  [
    'a symbolic link out of the folder',
    () =>
      modelWith({ location: 'link.data', offset: '0', length: '24' }, (f) => symlinkSync(SECRET, join(f, 'link.data'))),
    /keeps tensor 'w' in 'link\.data', which is outside the model's folder; refused/,
  ],
  [
    'a folder as location',
    () => modelWith({ location: 'weights', offset: '0', length: '24' }, (f) => mkdirSync(join(f, 'weights'))),
    /keeps its weights in '.*\/weights', which is not a file/,
  ],
  [
    'a short file',
    () => modelWith({ location: 'model.onnx.data', offset: '0', length: '4000' }),
    /model\.onnx\.data' is shorter than '.*model\.onnx' says \(24 bytes; tensor 'w' ends at byte 4000\)/,
  ],
  [
    'an offset past the end',
    () => modelWith({ location: 'model.onnx.data', offset: '100', length: '24' }),
    /is shorter than .* says \(24 bytes; tensor 'w' ends at byte 124\)/,
  ],
  [
    'a negative offset',
    () => modelWith({ location: 'model.onnx.data', offset: '-8', length: '24' }),
    /keeps tensor 'w' in 'model\.onnx\.data' at offset '-8', which is not a byte count/,
  ],
  [
    'a length that is not a number',
    () => modelWith({ location: 'model.onnx.data', offset: '0', length: 'lots' }),
    /keeps tensor 'w' in 'model\.onnx\.data' with length 'lots', which is not a byte count/,
  ],
  [
    'no location',
    () => modelWith({ offset: '0', length: '24' }),
    /keeps tensor 'w' in '', which is outside the model's folder/,
  ],
];

test.each(CASES)('%s: one line, exit 2, nothing read, no picture', async (_name, make, message) => {
  const model = make();
  const out = join(root, `out-${Math.random().toString(16).slice(2)}`);
  for (const args of [
    ['featuremaps', CAT64, '--model', model, '--layer', 'conv', '-o', out],
    ['filters', '--model', model, '-o', out],
  ]) {
    const { code, stdout, stderr } = await cnnviz(args, { CNNVIZ_CACHE: join(root, 'cache') });
    expect(stderr).toMatch(message);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    if (existsSync(out)) expect(readdirSync(out)).toEqual([]);
  }
});

test('external data in a subfolder of the model is read: the maps are its weights times the pixels', async () => {
  const model = modelWith({ location: 'data/w.bin', offset: '0', length: '24' }, (f) => {
    mkdirSync(join(f, 'data'));
    writeFileSync(join(f, 'data', 'w.bin'), Buffer.from(new Float32Array([1, 2, 3, 4, 5, 6]).buffer));
  });
  const out = join(root, 'out-sub');
  const { code, stderr } = await cnnviz(
    [
      'featuremaps',
      CAT64,
      '--model',
      model,
      '--layer',
      'conv',
      '--size',
      '8x8',
      '--preprocess',
      'none',
      '--save-npy',
      '-o',
      out,
    ],
    { CNNVIZ_CACHE: join(root, 'cache') },
  );
  expect(stderr).toBe('');
  expect(code).toBe(0);
  const maps = parseNpy(readFileSync(join(out, 'cat64-conv.npy')));
  // The input as cnnviz fed it: PIL-nearest 64 -> 8 takes pixel (4 + 8i, 4 + 8j).
  const pixel = readPng(CAT64);
  const at = (4 * 64 + 4) * 4;
  const [r, g, b] = [pixel.data[at], pixel.data[at + 1], pixel.data[at + 2]];
  expect(maps.shape).toEqual([8, 8, 2]);
  expect(maps.data[0]).toBeCloseTo(1 * r + 2 * g + 3 * b, 3);
  expect(maps.data[1]).toBeCloseTo(4 * r + 5 * g + 6 * b, 3);
});
