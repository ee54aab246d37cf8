/**
 * The report's HTML escapes every value that reaches it, text and attributes, whatever its
 * source: each field gets a hostile string, and none comes out as markup.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { reportHtml, type ReportData } from '../../src/render/report.js';
import { cnnviz } from '../helpers/cli.js';
import { CAT } from '../helpers/paths.js';

const HOSTILE = `<img src=x onerror=alert(1)>"'&`;
const ESCAPED = '&lt;img src=x onerror=alert(1)&gt;&quot;&#39;&amp;';

const hostileData = (): ReportData => ({
  title: HOSTILE,
  model: HOSTILE,
  weights: HOSTILE,
  engine: HOSTILE,
  input: { image: HOSTILE, source: HOSTILE, width: 8, height: 8, preprocessing: HOSTILE },
  summary: {
    name: HOSTILE,
    format: HOSTILE,
    rows: [
      { index: 0, depth: 1, name: HOSTILE, type: HOSTILE, outputShape: HOSTILE, params: null, connectedTo: [HOSTILE] },
    ],
    totalParams: 0,
    unknownLayers: [HOSTILE],
    sequential: true,
  },
  filters: { image: HOSTILE, layer: HOSTILE, caption: HOSTILE },
  layers: [
    {
      name: HOSTILE,
      outputShape: HOSTILE,
      image: HOSTILE,
      imageSize: [10, 10],
      shown: 1,
      total: 1,
      normalize: HOSTILE,
      meanActivation: NaN,
      deadShare: 0,
      tiles: [[0, 0, 0, 10, 10]],
    },
  ],
  examples: [
    {
      layer: HOSTILE,
      score: HOSTILE,
      images: 3,
      top: 1,
      overview: HOSTILE,
      note: HOSTILE,
      channels: [{ channel: 0, picture: HOSTILE, best: null }],
    },
  ],
});

test('a hostile string in every field comes out escaped, never as markup', () => {
  const html = reportHtml(hostileData());
  expect(html).not.toContain('<img src=x');
  expect(html).not.toMatch(/onerror=alert\(1\)>"/);
  // Every field shows, escaped: title, h1, model, weights, engine, source, preprocessing, table cells, filters, layer, examples.
  expect(html.split(ESCAPED).length - 1).toBeGreaterThanOrEqual(20);
  // Numbers that are not finite are said, not crashed on.
  expect(html).toContain('mean activation n/a');
  expect(html).toContain('<span class="score">n/a</span>');
});

describe('report --examples reads examples.json as input', () => {
  const root = mkdtempSync(join(tmpdir(), 'cnnviz-report-hostile-'));
  const folder = join(root, 'examples', 'block1_conv2');
  mkdirSync(folder, { recursive: true });
  const file = (channel: unknown, layer = 'block1_conv2', score: unknown = 1.5, model = 'vgg16') =>
    writeFileSync(
      join(folder, 'examples.json'),
      JSON.stringify({
        model,
        layer,
        score: 'max',
        images: 1,
        channels: [{ channel, examples: [{ image: 'a.png', score, y: 0, x: 0, box: [0, 0, 3, 3] }] }],
      }),
    );

  const report = (out: string) =>
    cnnviz(['report', CAT, '--weights', 'none', '--blocks', '1', '--examples', join(root, 'examples'), '-o', out]);

  test('a channel that is markup: refused in one line, exit 2, no report', async () => {
    file(HOSTILE);
    const out = join(root, 'r1');
    const { code, stderr } = await report(out);
    expect(stderr).toMatch(
      /^cnnviz: --examples .*: '.*examples\.json' is not an examples file cnnviz wrote \(channels\[0\]\.channel: Invalid input: expected number, received string\)\n$/,
    );
    expect(code).toBe(2);
    expect(existsSync(join(out, 'index.html'))).toBe(false);
  });

  test('a layer name that is markup, a null score and another model: the page shows them escaped, says so, and does not crash', async () => {
    file(0, HOSTILE, null, 'someone-elses-model');
    const out = join(root, 'r2');
    const { code, stderr } = await report(out);
    expect(stderr).toContain(
      "These examples were found with the model 'someone-elses-model', not 'vgg16', the model of this report.",
    );
    expect(code).toBe(0);
    const html = readFileSync(join(out, 'index.html'), 'utf8');
    expect(html).not.toContain('<img src=x');
    expect(html).toContain(`<h3>${ESCAPED}</h3>`);
    expect(html).toContain('<span class="score">n/a</span>');
    expect(html).toContain('<p class="note">These examples were found with the model &#39;someone-elses-model&#39;');
  });
});
