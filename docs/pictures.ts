/**
 * Makes the README's pictures of `cnnviz examples`: the shared tiny-vgg model over the folder
 * of images the tests make (cat variants and drawn patterns). Run after `npm run bench` has
 * compiled it (or `npx tsc -p bench/tsconfig.json`): `node dist-bench/docs/pictures.js`.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeImageFolder } from '../test/helpers/image-folder.js';

const ROOT = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..', '..');
const work = mkdtempSync(join(tmpdir(), 'cnnviz-docs-'));
await makeImageFolder(join(work, 'photos'), join(ROOT, 'fixtures', 'cat.jpg'));
const model = join(ROOT, '..', 'shared', 'models', 'tiny-vgg', 'model.json');
const run = (...args: string[]) =>
  execFileSync(process.execPath, [join(ROOT, 'bin', 'cnnviz.js'), ...args], { stdio: 'inherit' });
run(
  'examples',
  join(work, 'photos'),
  '--model',
  model,
  '--layer',
  'relu_2_2',
  '--top',
  '6',
  '--context',
  '-o',
  join(work, 'out'),
);
copyFileSync(
  join(work, 'out', 'relu_2_2', 'overview.png'),
  join(ROOT, 'docs', 'images', 'tiny-vgg-examples-relu_2_2.png'),
);
copyFileSync(
  join(work, 'out', 'relu_2_2', 'channel-003.png'),
  join(ROOT, 'docs', 'images', 'tiny-vgg-examples-relu_2_2-channel-003.png'),
);
