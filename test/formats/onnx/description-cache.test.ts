/** What cnnviz works out about an ONNX file is kept in the cache until the file changes. */
import { copyFileSync, mkdtempSync, utimesSync } from 'node:fs';
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
