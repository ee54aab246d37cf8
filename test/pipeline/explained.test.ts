/**
 * cam and saliency over folders: each image's picture and record, a broken image skipped and
 * named (exit 1, the others drawn), a rerun reusing what was explained with the same settings
 * (the same bytes), other settings or --force redrawing; an op without a gradient rule refused
 * in one line before any file.
 */
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cnnviz } from '../helpers/cli.js';
import { seededValues } from '../helpers/keras-h5.js';
import { writeOnnxModel } from '../helpers/onnx-builder.js';
import { FIXTURES } from '../helpers/paths.js';

const MODEL = join(FIXTURES, 'models', 'tiny-vgg', 'model.json');
const dir = mkdtempSync(join(tmpdir(), 'cnnviz-explained-'));
const photos = join(dir, 'photos');
mkdirSync(photos);
copyFileSync(join(FIXTURES, 'onnx', 'cat64.png'), join(photos, 'cat.png'));
copyFileSync(join(FIXTURES, 'cat.jpg'), join(photos, 'big-cat.jpg'));
writeFileSync(join(photos, 'broken.png'), 'not a picture');

test('a folder: every image explained, a broken one skipped and named, a rerun reuses, --force redoes', async () => {
  const out = join(dir, 'out');
  const args = ['cam', photos, '--model', MODEL, '--json', '-o', out];
  const first = await cnnviz(args);
  expect(first.code).toBe(1);
  expect(first.stderr).toMatch(/skipping .*broken\.png: /);
  expect(first.stderr.trim().split('\n').at(-1)).toMatch(
    /^cnnviz: 1 of 3 images failed \(.*broken\.png\); the others were drawn$/,
  );
  const report = JSON.parse(first.stdout);
  expect(report.predictions.map((p: { image: string }) => p.image).sort()).toEqual(
    [join(photos, 'big-cat.jpg'), join(photos, 'cat.png')].sort(),
  );
  expect(readdirSync(out).sort()).toEqual([
    'big-cat-cam-gradcam.json',
    'big-cat-cam-gradcam.png',
    'cat-cam-gradcam.json',
    'cat-cam-gradcam.png',
  ]);
  const bytes = readFileSync(join(out, 'cat-cam-gradcam.png'));
  const time = statSync(join(out, 'cat-cam-gradcam.png')).mtimeMs;

  const again = await cnnviz(args);
  expect(again.stderr).toContain('2 of 3 images already explained with these settings; reused (--force redoes them)');
  expect(JSON.parse(again.stdout).predictions).toEqual(report.predictions);
  expect(statSync(join(out, 'cat-cam-gradcam.png')).mtimeMs).toBe(time);

  const forced = await cnnviz([...args, '--force']);
  expect(forced.stderr).not.toContain('reused');
  expect(readFileSync(join(out, 'cat-cam-gradcam.png'))).toEqual(bytes);
  // Other settings are other pictures: a new class redraws.
  const other = await cnnviz([...args, '--class', '3']);
  expect(other.stderr).not.toContain('reused');
  expect(JSON.parse(other.stdout).predictions[0].explained.index).toBe(3);
});

test('saliency over the same folder writes its own files beside', async () => {
  const out = join(dir, 'out-saliency');
  const { code, stdout } = await cnnviz(['saliency', photos, '--model', MODEL, '-o', out]);
  expect(code).toBe(1);
  expect(stdout).toMatch(/cat\.png: \d /);
  expect(existsSync(join(out, 'big-cat-saliency-gradient-overlay.png'))).toBe(true);
  expect(existsSync(join(out, 'cat-saliency-gradient.png'))).toBe(true);
});

test('an op without a gradient rule is named in one line, exit 2, no file', async () => {
  const model = writeOnnxModel(join(dir, 'softplus.onnx'), {
    input: { name: 'x', shape: [1, 3, 16, 16] },
    initializers: [
      { name: 'w', dims: [4, 3, 3, 3], values: seededValues(108, 1, 0.5) },
      { name: 'fc', dims: [5, 4], values: seededValues(20, 2, 0.5) },
    ],
    nodes: [
      { op: 'Conv', name: 'conv', inputs: ['x', 'w'], attrs: { pads: [1, 1, 1, 1] } },
      { op: 'Softplus', name: 'soft', inputs: ['conv'] },
      { op: 'GlobalAveragePool', name: 'gap', inputs: ['soft'] },
      { op: 'Flatten', name: 'flat', inputs: ['gap'] },
      { op: 'Gemm', name: 'logits', inputs: ['flat', 'fc'], attrs: { transB: 1 } },
    ],
  });
  const out = join(dir, 'no-rule');
  const image = join(FIXTURES, 'onnx', 'cat64.png');
  for (const command of [['cam', '--layer', 'conv'], ['saliency']]) {
    const { code, stderr } = await cnnviz([command[0], image, ...command.slice(1), '--model', model, '-o', out]);
    expect([command[0], code]).toEqual([command[0], 2]);
    expect(stderr).toBe("cnnviz: cannot differentiate test_graph: no gradient rule for 'soft' (Softplus)\n");
  }
  expect(existsSync(out) ? readdirSync(out) : []).toEqual([]);
});
