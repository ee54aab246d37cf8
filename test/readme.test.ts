/**
 * The README's examples run from a fresh clone: none names a file outside the repository (a
 * user has no ../shared), the tiny-vgg copy in fixtures/ is the shared model unchanged, and the
 * README's tiny-vgg example runs as written.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cnnviz } from './helpers/cli.js';
import { ROOT, SHARED, withTinyVgg } from './helpers/paths.js';

const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const examples = [...readme.matchAll(/^npx cnnviz .*$/gm)].map((m) => m[0].replace(/\s+#.*$/, ''));

test('no README example names a path outside the repository', () => {
  expect(examples.length).toBeGreaterThan(20);
  expect(examples.filter((line) => line.includes('../'))).toEqual([]);
});

withTinyVgg()('fixtures/models/tiny-vgg is the shared model, byte for byte, with its license', () => {
  const files = ['model.json', 'group1-shard1of1.bin', 'LICENSE'];
  const shared = join(SHARED, 'models', 'tiny-vgg');
  for (const file of files) {
    expect([
      file,
      readFileSync(join(ROOT, 'fixtures', 'models', 'tiny-vgg', file)).equals(readFileSync(join(shared, file))),
    ]).toEqual([file, true]);
  }
  expect(readFileSync(join(ROOT, 'fixtures', 'models', 'tiny-vgg', 'LICENSE'), 'utf8')).toContain('MIT License');
});

test("the README's tiny-vgg example runs as written: 19,920 parameters", async () => {
  const line = examples.find((l) => l.includes('fixtures/models/tiny-vgg'))!;
  const { code, stdout } = await cnnviz(line.split(/\s+/).slice(2));
  expect(code).toBe(0);
  expect(stdout).toContain('Total params: 19,920');
});

test("the README's saliency example runs as written and says what the README says", async () => {
  const line = examples.find((l) => l.startsWith('npx cnnviz saliency'))!;
  const { code, stdout } = await cnnviz([
    ...line.split(/\s+/).slice(2, -2),
    '-o',
    mkdtempSync(join(tmpdir(), 'cnnviz-readme-')),
  ]);
  expect(code).toBe(0);
  expect(stdout.split('\n')[0]).toMatch(/^docs\/images\/ladybug\.png: 1 ladybug 96\.4%, /);
  expect(readme).toContain('"ladybug" 96.4%');
});
