/** What cnnviz works out about an ONNX file is kept in the cache until the file changes. */
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cnnviz } from '../../helpers/cli.js';
import { FIXTURES } from '../../helpers/paths.js';

test('a second run takes the description from the cache; a changed file is read again', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cnnviz-desc-'));
  const model = join(dir, 'r.onnx');
  copyFileSync(join(FIXTURES, 'onnx', 'tiny_resnet.onnx'), model);
  const env = { CNNVIZ_CACHE: join(dir, 'cache') };
  const first = await cnnviz(['summary', '--model', model, '--verbose'], env);
  const second = await cnnviz(['summary', '--model', model, '--verbose'], env);
  expect(first.stderr).not.toContain('description from the cache');
  expect(second.stderr).toContain('description from the cache');
  expect(second.stdout).toBe(first.stdout);
  utimesSync(model, new Date(), new Date(Date.now() + 5000));
  const changed = await cnnviz(['summary', '--model', model, '--verbose'], env);
  expect(changed.stderr).not.toContain('description from the cache');
  // --size makes another description.
  const resized = await cnnviz(['summary', '--model', model, '--size', '32x32', '--verbose'], env);
  expect(resized.stderr).not.toContain('description from the cache');
  expect(resized.stdout).toContain('(None, 8, 16, 16)');
});

test.each([
  ['cut short', (text: string) => text.slice(0, text.length / 2)],
  [
    'of another shape, sealed as before',
    (text: string) =>
      JSON.stringify({ ...JSON.parse(text), body: JSON.stringify({ name: 'x', net: { layers: 'none' } }) }),
  ],
  ['valid JSON of another shape', () => JSON.stringify({ name: 'x', input: 3, net: null })],
])('a description %s is made again, and the run is as a clean one', async (_name, damage) => {
  const dir = mkdtempSync(join(tmpdir(), 'cnnviz-desc-bad-'));
  const model = join(dir, 'r.onnx');
  copyFileSync(join(FIXTURES, 'onnx', 'tiny_resnet.onnx'), model);
  const env = { CNNVIZ_CACHE: join(dir, 'cache') };
  const clean = await cnnviz(['summary', '--model', model], env);
  const folder = join(dir, 'cache', 'onnx', 'descriptions');
  const [file] = readdirSync(folder).filter((n) => n.endsWith('.json'));
  writeFileSync(join(folder, file), damage(readFileSync(join(folder, file), 'utf8')));
  const again = await cnnviz(['summary', '--model', model, '--verbose'], env);
  expect(again.code).toBe(0);
  expect(again.stderr).not.toContain('description from the cache');
  expect(again.stdout).toBe(clean.stdout);
});
