/**
 * The report in a real browser (Debian's chromium driven by playwright-core): it loads from
 * file:// with no console errors and no failed requests, every picture decodes, the sections
 * are there, and hovering a tile names its channel.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PNG } from 'pngjs';
import { chromium, type Browser } from 'playwright-core';
import { cnnviz, readPng } from '../helpers/cli.js';
import { makeImageFolder } from '../helpers/image-folder.js';
import { CAT, FIXTURES } from '../helpers/paths.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
// Under CI a missing browser is a failure, not a skip: a green run must have checked the page.
if (!hasChromium && process.env.CI === 'true')
  throw new Error(`CI=true and no chromium at ${CHROMIUM}: .ci/run installs it; the browser tests must run`);
if (!hasChromium)
  console.log(`skipping browser tests: no chromium at ${CHROMIUM} (apt-get install chromium; .ci/run does)`);
const browserTest = hasChromium ? test : test.skip;

let out: string;
let browser: Browser | undefined;

beforeAll(async () => {
  out = mkdtempSync(join(tmpdir(), 'cnnviz-report-'));
  const { code, stderr } = await cnnviz(['report', CAT, '--weights', 'none', '-o', out]);
  if (code !== 0) throw new Error(stderr);
  if (hasChromium) {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  }
}, 120_000);

afterAll(async () => {
  await browser?.close();
});

test('the report folder holds index.html and the pictures it shows, by relative paths only', () => {
  const html = readFileSync(join(out, 'index.html'), 'utf8');
  const sources = [...html.matchAll(/src="([^"]+)"/g)].map((m) => m[1]);
  expect(sources.sort()).toEqual(
    readdirSync(out)
      .filter((f) => f.endsWith('.png'))
      .sort(),
  );
  expect(html).not.toMatch(/https?:\/\//);
});

browserTest('it loads in Chromium with no errors, every image decodes, and the sections are present', async () => {
  const page = await browser!.newPage({ viewport: { width: 1280, height: 900 } });
  const problems: string[] = [];
  page.on('console', (m) => m.type() === 'error' && problems.push(`console: ${m.text()}`));
  page.on('pageerror', (e) => problems.push(`page: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`request: ${r.url()}`));
  await page.goto(pathToFileURL(join(out, 'index.html')).href, { waitUntil: 'load' });
  type Img = { getAttribute(name: string): string | null; complete: boolean; naturalWidth: number };
  const images = await page.$$eval('img', (all) =>
    (all as unknown as Img[]).map((img) => [img.getAttribute('src'), img.complete, img.naturalWidth]),
  );
  expect(images.length).toBe(7); // input, filters, 5 blocks
  for (const [src, complete, width] of images)
    expect([src, complete, (width as number) > 0]).toEqual([src, true, true]);
  expect(await page.$$eval('h2', (hs) => hs.map((h) => h.id))).toEqual(['input', 'summary', 'filters', 'maps']);
  const layers = await page.$$eval('section.layer h3', (hs) => hs.map((h) => h.textContent));
  expect(layers).toEqual([
    'block1_conv2 (None, 224, 224, 64)',
    'block2_conv2 (None, 112, 112, 128)',
    'block3_conv3 (None, 56, 56, 256)',
    'block4_conv3 (None, 28, 28, 512)',
    'block5_conv3 (None, 14, 14, 512)',
  ]);
  expect(await page.textContent('table.summary tfoot')).toContain('14,714,688');
  expect(await page.textContent('section#layer-block5_conv3 .stats')).toMatch(
    /64 of 512 maps shown · normalised per map · mean activation [\d.e-]+ · dead maps [\d.]+%/,
  );

  // The tile under the pointer names its channel.
  const tile = page.locator('section#layer-block5_conv3 .tile[data-channel="9"]');
  await tile.hover();
  expect(await tile.getAttribute('title')).toBe('channel 9');
  expect(await tile.locator('span').isVisible()).toBe(true);
  expect(problems).toEqual([]);
  await page.close();
});

browserTest('a screenshot of the filters section shows the filter picture, not an empty box', async () => {
  const page = await browser!.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(pathToFileURL(join(out, 'index.html')).href, { waitUntil: 'load' });
  const shot = PNG.sync.read(await page.locator('#filters + figure img').screenshot());
  const filters = PNG.sync.read(readFileSync(join(out, 'filters.png')));
  expect(shot.width).toBe(filters.width);
  expect(Math.abs(shot.height - filters.height)).toBeLessThanOrEqual(1); // layout rounding
  // 64 colour tiles: many distinct colours on screen, as in the file.
  const colours = new Set<number>();
  for (let i = 0; i < shot.data.length; i += 4)
    colours.add((shot.data[i] << 16) | (shot.data[i + 1] << 8) | shot.data[i + 2]);
  expect(colours.size).toBeGreaterThan(50);
  await page.close();
});

browserTest(
  '--examples adds a section linking an examples run: its overview loads and every channel link names a picture',
  async () => {
    const root = mkdtempSync(join(tmpdir(), 'cnnviz-report-examples-'));
    const photos = await makeImageFolder(join(root, 'photos'), CAT, 2);
    const run = await cnnviz([
      'examples',
      join(root, 'photos'),
      '--weights',
      'none',
      '--layer',
      'block1_conv2',
      '--channels',
      '0-5',
      '--top',
      '3',
      '-o',
      join(root, 'examples'),
    ]);
    expect(run.code).toBe(0);
    const report = join(root, 'report');
    const { code } = await cnnviz([
      'report',
      CAT,
      '--weights',
      'none',
      '--blocks',
      '1',
      '--examples',
      join(root, 'examples'),
      '-o',
      report,
    ]);
    expect(code).toBe(0);
    const page = await browser!.newPage({ viewport: { width: 1280, height: 900 } });
    const failed: string[] = [];
    page.on('requestfailed', (r) => failed.push(r.url()));
    await page.goto(pathToFileURL(join(report, 'index.html')).href, { waitUntil: 'load' });
    expect(await page.$$eval('h2', (hs) => hs.map((h) => h.id))).toEqual([
      'input',
      'summary',
      'filters',
      'maps',
      'examples',
    ]);
    type Img = { complete: boolean; naturalWidth: number };
    const overview = await page.$eval('section.examples img', (img) => [
      (img as unknown as Img).complete,
      (img as unknown as Img).naturalWidth,
    ]);
    expect(overview).toEqual([true, readPng(join(root, 'examples', 'block1_conv2', 'overview.png')).width]);
    const links = await page.$$eval('section.examples .channels a', (as) => as.map((a) => a.getAttribute('href')!));
    expect(links).toHaveLength(6);
    for (const link of links) expect([link, existsSync(join(report, link))]).toEqual([link, true]);
    expect(await page.textContent('section.examples p')).toContain(
      `the 3 of ${photos.length} images that excite it most`,
    );
    expect(failed).toEqual([]);
    await page.close();
  },
  60_000,
);

test('a model with a class output gets the prediction and its Grad-CAM, as cam draws them', async () => {
  const model = join(FIXTURES, 'models', 'tiny-vgg', 'model.json');
  const labels = join(FIXTURES, 'models', 'tiny-vgg', 'classes.txt');
  const image = join(FIXTURES, 'onnx', 'cat64.png');
  const folder = mkdtempSync(join(tmpdir(), 'cnnviz-report-class-'));
  const report = await cnnviz(['report', image, '--model', model, '--labels', labels, '-o', join(folder, 'report')]);
  const cam = await cnnviz(['cam', image, '--model', model, '--labels', labels, '-o', join(folder, 'cam')]);
  expect([report.code, cam.code]).toEqual([0, 0]);
  const html = readFileSync(join(folder, 'report', 'index.html'), 'utf8');
  // cam's top 5 ("6 espresso 65.8%, ...") as the report's table rows.
  const top = cam.stdout.split('\n')[0].split(': ')[1].split(', ');
  const rows = [...html.matchAll(/<tr><td>([^<]+)<\/td><td class="num">([^<]+)<\/td><\/tr>/g)].map(
    (m) => `${m[1]} ${m[2]}`,
  );
  expect(rows).toEqual(top);
  expect(html).toContain('<h2 id="prediction">Prediction</h2>');
  expect(readFileSync(join(folder, 'report', 'cat64-cam-gradcam.png'))).toEqual(
    readFileSync(join(folder, 'cam', 'cat64-cam-gradcam.png')),
  );
});

test("--maximize shows each channel's picture and objective, beside its dataset examples from --examples", async () => {
  const model = join(FIXTURES, 'models', 'tiny-vgg', 'model.json');
  const image = join(FIXTURES, 'onnx', 'cat64.png');
  const folder = mkdtempSync(join(tmpdir(), 'cnnviz-report-maximize-'));
  const photos = join(folder, 'photos');
  await makeImageFolder(photos, CAT, 3);
  const ex = await cnnviz([
    'examples',
    photos,
    '--model',
    model,
    '--layer',
    'relu_2_2',
    '--top',
    '2',
    '-o',
    join(folder, 'ex'),
  ]);
  const mx = await cnnviz([
    'maximize',
    '--model',
    model,
    '--layer',
    'relu_2_2',
    '--channels',
    '0-2',
    '--steps',
    '8',
    '-o',
    join(folder, 'mx'),
  ]);
  expect([ex.code, mx.code]).toEqual([0, 0]);
  const out = join(folder, 'report');
  const args = [
    'report',
    image,
    '--model',
    model,
    '--examples',
    join(folder, 'ex'),
    '--maximize',
    join(folder, 'mx'),
    '-o',
    out,
  ];
  const { code } = await cnnviz(args);
  expect(code).toBe(0);
  const html = readFileSync(join(out, 'index.html'), 'utf8');
  const record = JSON.parse(readFileSync(join(folder, 'mx', 'relu_2_2', 'maximize.json'), 'utf8'));
  const rows = [
    ...html.matchAll(
      /<tr><td>(\d+)<\/td><td><a href="([^"]+)"><img class="visualization"[^>]*><\/a><\/td><td class="num">([^<]+) &rarr; ([^<]+)<\/td><td><a href="([^"]+)">/g,
    ),
  ];
  expect(rows.map((r) => Number(r[1]))).toEqual([0, 1, 2]);
  for (const [, channel, picture, start, final, examples] of rows) {
    const unit = record.units[Number(channel)];
    expect([start, final]).toEqual([unit.start.toPrecision(3), unit.final.toPrecision(3)]);
    expect(existsSync(join(out, picture))).toBe(true);
    expect(existsSync(join(out, examples))).toBe(true);
    expect(examples).toMatch(new RegExp(`channel-00${channel}\\.png$`));
  }
  // A record that is not one: one line, exit 2.
  const broken = join(folder, 'broken');
  mkdirSync(join(broken, 'relu_2_2'), { recursive: true });
  writeFileSync(join(broken, 'relu_2_2', 'maximize.json'), '{"stamp": "x", "units": [{"unit": -1}]}');
  const bad = await cnnviz(['report', image, '--model', model, '--maximize', broken, '-o', join(folder, 'bad')]);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toMatch(/^cnnviz: --maximize .*: '.*maximize\.json' is not a record cnnviz maximize wrote/);
  expect(existsSync(join(folder, 'bad'))).toBe(false);
});
