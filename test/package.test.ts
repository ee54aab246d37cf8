/**
 * cnnviz as users get it: `npm pack`, installed into an empty folder, works as a command
 * (npx cnnviz) and as an import (summary, featureMaps, filters). Checked against the
 * PyTorch-exported fixture's own numbers.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FIXTURES, ROOT } from './helpers/paths.js';

const MODEL = join(FIXTURES, 'onnx', 'tiny_resnet.onnx');
const facts = JSON.parse(readFileSync(join(FIXTURES, 'onnx', 'expected', 'tiny_resnet.json'), 'utf8'));
const quiet = { encoding: 'utf8' as const, stdio: ['ignore', 'pipe', 'pipe'] as ['ignore', 'pipe', 'pipe'] };

test('the packed tarball installs into an empty folder and works as a command and as an import', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cnnviz-pack-'));
  // dist/ is fresh (npm test builds first): no need for pack's prepare to build again.
  execFileSync('npm', ['pack', '--ignore-scripts', '--pack-destination', dir], { ...quiet, cwd: ROOT });
  const tarball = readdirSync(dir).find((f) => f.endsWith('.tgz'))!;
  const app = join(dir, 'app');
  execFileSync('mkdir', [app]);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  // As the README says for any install: onnxruntime-node's own download step is not needed.
  writeFileSync(join(app, '.npmrc'), 'onnxruntime-node-install=skip\n');
  execFileSync('npm', ['install', join(dir, tarball), '--prefer-offline', '--no-audit', '--no-fund'], {
    ...quiet,
    cwd: app,
    timeout: 240_000,
  });

  const version = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version;
  expect(execFileSync('npx', ['--no-install', 'cnnviz', '--version'], { ...quiet, cwd: app }).trim()).toBe(
    `cnnviz ${version}`,
  );

  writeFileSync(
    join(app, 'use.mjs'),
    `import { summary, featureMaps, filters } from 'cnnviz';
const model = process.argv[2];
const table = await summary({ model });
const [result] = await featureMaps([process.argv[3]], { model, blocks: 'all' });
const kernel = await filters({ model });
console.log(JSON.stringify({ params: table.totalParams, shapes: result.maps.map((m) => m.shape), kernel: kernel.kernel.shape }));
`,
  );
  const out = JSON.parse(
    execFileSync(process.execPath, ['use.mjs', MODEL, join(FIXTURES, 'onnx', 'cat64.png')], { ...quiet, cwd: app }),
  );
  expect(out).toEqual({
    params: facts.params,
    // PyTorch's stage outputs, (C, H, W) there: 8x32x32, 8x16x16, 16x8x8, 32x4x4, 64x2x2.
    shapes: [
      [32, 32, 8],
      [16, 16, 8],
      [8, 8, 16],
      [4, 4, 32],
      [2, 2, 64],
    ],
    kernel: [7, 7, 3, 8],
  });
}, 300_000);
