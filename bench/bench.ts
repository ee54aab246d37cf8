/**
 * `npm run bench`: times the CLI as users run it, per engine, with VGG16-shaped Keras weights
 * generated once (offline) into bench/.cache and found there as the cached imagenet file.
 * Each scenario runs once to warm the disk cache, then BENCH_RUNS times (default 5); the table
 * gives medians with min-max, the stages the CLI reports (CNNVIZ_TIMINGS), and peak RSS.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { vggConfig } from '../src/formats/vgg.js';
import { BUILTIN_MODELS } from '../src/formats/builtin.js';
import { layersFor, writeKerasH5 } from '../test/helpers/keras-h5.js';
import { writeResnet50 } from './resnet50.js';
import { writeInceptionV3 } from './inception.js';
import { mobileNetV2Graph } from '../test/helpers/graph-model.js';
import { makeImageFolder } from '../test/helpers/image-folder.js';
import { gradientTimes, torchModel, torchReference } from './gradients.js';

const ROOT = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..', '..');
const CACHE = join(ROOT, 'bench', '.cache');
const RESULTS = join(ROOT, 'bench', 'results');
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const CAT = join(ROOT, 'fixtures', 'cat.jpg');

interface Sample {
  wallMs: number;
  stages: Record<string, number>;
  peakRssMB: number;
}

/** The ResNet-50-sized ONNX file, written once. */
function prepareResnet50(): string {
  const path = join(CACHE, 'resnet50.onnx');
  if (!existsSync(path)) {
    process.stderr.write('bench: writing a ResNet-50 ONNX file (seeded weights) once...\n');
    writeResnet50(path);
  }
  return path;
}

/**
 * The floor for an ONNX file: ONNX Runtime's own session.run of the unmodified file, in this
 * process, with the CLI's thread settings; the first run and the median of the next RUNS.
 */
async function ortFloor(path: string): Promise<{ firstMs: number; medianMs: number }> {
  const ort = await import('onnxruntime-node');
  const { cpus } = await import('node:os');
  const session = await ort.InferenceSession.create(path, {
    intraOpNumThreads: cpus().length,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  });
  const input = new ort.Tensor(
    'float32',
    Float32Array.from({ length: 3 * 224 * 224 }, (_, i) => Math.sin(i)),
    [1, 3, 224, 224],
  );
  const time = async () => {
    const start = performance.now();
    await session.run({ [session.inputNames[0]]: input });
    return performance.now() - start;
  };
  const firstMs = await time();
  const runs: number[] = [];
  for (let i = 0; i < Math.max(RUNS, 5); i++) runs.push(await time());
  await session.release();
  process.stderr.write(
    `bench: ONNX Runtime alone on ${path}: first run ${firstMs.toFixed(0)} ms, then median ${median(runs).toFixed(0)} ms\n`,
  );
  return { firstMs, medianMs: median(runs) };
}

/** A MobileNetV2 graph model (224, alpha 1, 1000 classes; seeded weights), written once. */
function prepareMobileNetGraph(): string {
  const dir = join(CACHE, 'mobilenetv2-graph');
  if (!existsSync(join(dir, 'model.json'))) mobileNetV2Graph({ size: 224, alpha: 1, classes: 1000 }).write(dir);
  return join(dir, 'model.json');
}

/** VGG16's convolutional base with its five block ends as outputs, exported by PyTorch (bench/vgg_blocks.py) once. */
function prepareVggBlocks(): string {
  const path = join(CACHE, 'vgg-blocks.onnx');
  if (existsSync(path)) return path;
  execFileSync('/usr/bin/python3', [join(ROOT, 'bench', 'vgg_blocks.py'), path], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return path;
}

/** One run of the bare reference process (bench/bare-ort.mjs): its wall time. */
function runBare([model, passes]: [string, string]): Promise<number> {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const child = spawn(process.execPath, [join(ROOT, 'bench', 'bare-ort.mjs'), model, passes, String(cpus().length)], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve(Number(process.hrtime.bigint() - start) / 1e6)
        : reject(new Error(`bare-ort.mjs exited ${code}`)),
    );
  });
}

/** cnnviz's run and the bare reference's, alternately, after a warm-up of each: both rows. */
async function measureAgainstBare(
  scenario: string,
  args: string[],
  engine: string,
  images: number,
  bareArgs: [string, string],
): Promise<{ row: Row; bare: Row }> {
  await runOnce(args, engine);
  await runBare(bareArgs);
  const samples: Sample[] = [];
  const bareWalls: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    samples.push(await runOnce(args, engine));
    bareWalls.push(await runBare(bareArgs));
  }
  const row = rowOf(scenario, engine, samples, images);
  const bare: Row = {
    scenario: `bare ONNX Runtime process, ${bareArgs[1]} forward pass${bareArgs[1] === '1' ? '' : 'es'} (reference)`,
    engine: 'onnx',
    wall: { median: median(bareWalls), min: Math.min(...bareWalls), max: Math.max(...bareWalls) },
    stages: {},
    peakRssMB: NaN,
  };
  process.stderr.write(
    `bench: ${scenario} [${engine}] ${row.wall.median.toFixed(0)} ms, bare ${bare.wall.median.toFixed(0)} ms\n`,
  );
  return { row, bare };
}

/** U²-Net exported by PyTorch (bench/u2net.py, Debian's python3-torch), written once. */
function prepareU2Net(): string {
  const path = join(CACHE, 'u2net.onnx');
  if (existsSync(path)) return path;
  process.stderr.write('bench: exporting U²-Net at 1024x1024 with PyTorch once...\n');
  execFileSync('/usr/bin/python3', [join(ROOT, 'bench', 'u2net.py'), path], { stdio: ['ignore', 'ignore', 'inherit'] });
  return path;
}

/** The InceptionV3-sized layers model, written once. */
async function prepareInception(): Promise<string> {
  const dir = join(CACHE, 'inception-v3');
  if (existsSync(join(dir, 'model.json'))) return join(dir, 'model.json');
  process.stderr.write('bench: writing an InceptionV3 layers model once...\n');
  return writeInceptionV3(dir);
}

async function prepare(): Promise<string[]> {
  const weights = join(CACHE, BUILTIN_MODELS.vgg16.weights.notop.fileName);
  if (!existsSync(weights)) {
    mkdirSync(CACHE, { recursive: true });
    process.stderr.write('bench: writing VGG16 no-top weights (seeded, Keras layout) once...\n');
    await writeKerasH5(weights, layersFor(vggConfig('vgg16', false), 7));
  }
  // 16 different images from the cat: crops, flips and tints, as a batch of real photos would be.
  const dir = join(CACHE, 'images');
  mkdirSync(dir, { recursive: true });
  const images: string[] = [];
  for (let i = 0; i < 16; i++) {
    const path = join(dir, `cat-${String(i).padStart(2, '0')}.jpg`);
    if (!existsSync(path)) {
      let image = sharp(CAT).extract({ left: (i * 7) % 60, top: (i * 5) % 40, width: 380, height: 250 });
      if (i % 2) image = image.flop();
      if (i % 3 === 1) image = image.modulate({ hue: i * 20 });
      await image.jpeg({ quality: 90 }).toFile(path);
    }
    images.push(path);
  }
  return images;
}

/** A cache folder holding only the weights file: the first run after a download. */
function freshCache(): string {
  const dir = join(CACHE, 'fresh');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const name = BUILTIN_MODELS.vgg16.weights.notop.fileName;
  linkSync(join(CACHE, name), join(dir, name));
  return dir;
}

function runOnce(args: string[], engine: string, fresh = false): Promise<Sample> {
  const timingsFile = join(CACHE, `timings-${process.pid}.json`);
  rmSync(timingsFile, { force: true });
  const env = {
    ...process.env,
    CNNVIZ_CACHE: fresh ? freshCache() : CACHE,
    HOME: join(CACHE, 'home'),
    KERAS_HOME: join(CACHE, 'keras'),
    CNNVIZ_TIMINGS: timingsFile,
    CNNVIZ_BACKEND: engine,
  };
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'cnnviz.js'), ...args], {
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const wallMs = Number(process.hrtime.bigint() - start) / 1e6;
      if (code !== 0) return reject(new Error(`cnnviz ${args.join(' ')} exited ${code}: ${stderr.trim()}`));
      const report = JSON.parse(readFileSync(timingsFile, 'utf8'));
      resolve({ wallMs, stages: report.stages, peakRssMB: report.peakRssMB });
    });
  });
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

interface Row {
  scenario: string;
  engine: string;
  wall: { median: number; min: number; max: number };
  stages: Record<string, number>;
  peakRssMB: number;
  imagesPerSecond?: number;
}

/** A table row from a scenario's runs: medians of wall time, of each stage and of peak memory. */
function rowOf(scenario: string, engine: string, samples: Sample[], images: number): Row {
  const walls = samples.map((s) => s.wallMs);
  const stageNames = [...new Set(samples.flatMap((s) => Object.keys(s.stages)))];
  const row: Row = {
    scenario,
    engine,
    wall: { median: median(walls), min: Math.min(...walls), max: Math.max(...walls) },
    stages: Object.fromEntries(stageNames.map((n) => [n, median(samples.map((s) => s.stages[n] ?? 0))])),
    peakRssMB: median(samples.map((s) => s.peakRssMB)),
  };
  if (images) row.imagesPerSecond = images / (row.wall.median / 1000);
  return row;
}

async function measure(
  scenario: string,
  args: string[],
  engine: string,
  images = 0,
  fresh = false,
  runs = RUNS,
  before?: () => void,
): Promise<Row> {
  before?.();
  await runOnce(args, engine, fresh);
  const samples: Sample[] = [];
  for (let i = 0; i < runs; i++) {
    before?.();
    samples.push(await runOnce(args, engine, fresh));
  }
  const row = rowOf(scenario, engine, samples, images);
  process.stderr.write(`bench: ${scenario} [${engine}] ${row.wall.median.toFixed(0)} ms\n`);
  return row;
}

function table(rows: Row[]): string {
  const stageOrder = [
    'startup',
    'weights',
    'read .h5',
    'read .onnx',
    'decode+resize',
    'build',
    'forward',
    'normalize+mosaic',
    'encode+write',
  ];
  const header = ['scenario', 'engine', 'wall ms median (min-max)', ...stageOrder, 'peak RSS MB', 'img/s'];
  const lines = rows.map((r) => [
    r.scenario,
    r.engine,
    `${r.wall.median.toFixed(0)} (${r.wall.min.toFixed(0)}-${r.wall.max.toFixed(0)})`,
    ...stageOrder.map((s) => (r.stages[s] === undefined ? '' : r.stages[s].toFixed(0))),
    Number.isNaN(r.peakRssMB) ? '' : r.peakRssMB.toFixed(0),
    r.imagesPerSecond ? r.imagesPerSecond.toFixed(2) : '',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const fmt = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  return [fmt(header), fmt(widths.map((w) => '-'.repeat(w))), ...lines.map(fmt)].join('\n');
}

/** BENCH_ONLY=vgg,resnet,mobilenet,examples,inception,gradients,maximize,u2net runs those groups (default: all). */
const only = (group: string) => !process.env.BENCH_ONLY || process.env.BENCH_ONLY.split(',').includes(group);

async function main(): Promise<void> {
  const images = await prepare();
  const out = join(CACHE, 'out');
  const engines = (process.env.BENCH_ENGINES ?? 'onnx,wasm').split(',');
  const rows: Row[] = [];
  const targets: Array<readonly [string, boolean]> = [];
  const find = (scenario: string, engine = 'auto') => rows.find((r) => r.scenario === scenario && r.engine === engine)!;
  if (only('vgg')) await vggCases(rows, targets, images, engines, out, find);
  if (only('resnet')) await resnetCases(rows, targets, out);
  if (only('mobilenet')) {
    const model = prepareMobileNetGraph();
    const args = ['featuremaps', CAT, '--model', model, '--blocks', 'all', '-o', out];
    const runs = {
      onnx: await measure('featuremaps --blocks all, MobileNetV2 graph model', args, 'onnx', 1),
      wasm: await measure('featuremaps --blocks all, MobileNetV2 graph model', args, 'wasm', 1),
    };
    rows.push(runs.onnx, runs.wasm);
    targets.push([
      `MobileNetV2 graph model featuremaps --blocks all <= 600 ms warm [onnx, the default] (tfjs-converter on wasm: ${runs.wasm.wall.median.toFixed(0)} ms)`,
      runs.onnx.wall.median <= 600,
    ]);
    targets.push([
      'the ONNX translation beats tfjs-converter on the MobileNetV2 graph (so it is the default)',
      runs.onnx.wall.median < runs.wasm.wall.median,
    ]);
  }
  if (only('examples')) await examplesCases(rows, targets, out);
  const notes: string[] = [];
  if (only('gradients')) await gradientCases(rows, targets, notes, out);
  if (only('maximize')) await maximizeCases(rows, targets, notes, out);
  if (only('u2net')) {
    const model = prepareU2Net();
    const row = await measure(
      'featuremaps --blocks all, U²-Net ONNX (44.0 M parameters, 1024x1024)',
      ['featuremaps', CAT, '--model', model, '--blocks', 'all', '-o', out],
      'auto',
      1,
    );
    rows.push(row);
    targets.push([
      `U²-Net-sized ONNX (1024x1024) featuremaps --blocks all peak RSS < 1500 MB (${row.peakRssMB.toFixed(0)} MB, ${row.wall.median.toFixed(0)} ms)`,
      row.peakRssMB < 1500,
    ]);
  }
  if (only('inception')) {
    const model = await prepareInception();
    const row = await measure(
      'featuremaps --blocks all, InceptionV3 layers model (21.8 M parameters, 299x299)',
      ['featuremaps', CAT, '--model', model, '--blocks', 'all', '-o', out],
      'auto',
      1,
    );
    rows.push(row);
    targets.push(['InceptionV3-sized layers model featuremaps --blocks all <= 1500 ms warm', row.wall.median <= 1500]);
    targets.push([
      `InceptionV3-sized layers model peak RSS <= 450 MB (${row.peakRssMB.toFixed(0)} MB)`,
      row.peakRssMB <= 450,
    ]);
  }
  const text = [
    `cnnviz bench, ${new Date().toISOString()}, node ${process.version}, ${RUNS} runs after a warm-up, medians`,
    '',
    table(rows),
    '',
    ...notes,
    ...(notes.length ? [''] : []),
    ...targets.map(([name, ok]) => `${ok ? 'met ' : 'MISSED'}  ${name}`),
  ].join('\n');
  process.stdout.write(`${text}\n`);
  mkdirSync(RESULTS, { recursive: true });
  const file = join(RESULTS, `bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify({ runs: RUNS, node: process.version, rows, targets }, null, 2));
  process.stdout.write(`\nwrote ${file}\n`);
}

type Find = (scenario: string, engine?: string) => Row;
type Targets = Array<readonly [string, boolean]>;

async function vggCases(
  rows: Row[],
  targets: Targets,
  images: string[],
  engines: string[],
  out: string,
  find: Find,
): Promise<void> {
  rows.push(await measure('--help', ['--help'], 'auto'));
  rows.push(await measure('summary', ['summary'], 'auto'));
  // The seeded VGG16 file is named by --weights: as imagenet, cnnviz would check it against the
  // real file's md5 and look for another copy.
  const vgg = ['--weights', join(CACHE, BUILTIN_MODELS.vgg16.weights.notop.fileName)];
  rows.push(await measure('filters', ['filters', ...vgg, '-o', out], 'auto'));
  for (const engine of engines) {
    const args = ['featuremaps', CAT, ...vgg, '--blocks', 'all', '-o', out];
    if (engine === 'onnx')
      rows.push(await measure('featuremaps --blocks all, 1 image, first run (no ONNX cache)', args, engine, 1, true));
    if (engine !== 'onnx') {
      rows.push(await measure('featuremaps --blocks all, 1 image', args, engine, 1));
      rows.push(
        await measure(
          'featuremaps --blocks all, 16 images',
          ['featuremaps', ...images, ...vgg, '--blocks', 'all', '--force', '-o', out],
          engine,
          16,
        ),
      );
      continue;
    }
    // The reference: a bare Node.js process running the same network (exported by PyTorch, its
    // five block ends as outputs) on ONNX Runtime, measured alternately with cnnviz's run.
    const bare = prepareVggBlocks();
    const single = await measureAgainstBare('featuremaps --blocks all, 1 image', args, engine, 1, [bare, '1']);
    rows.push(single.row, single.bare);
    // --force: the warm-up run draws them all, and a batch skips images whose pictures exist.
    const sixteen = await measureAgainstBare(
      'featuremaps --blocks all, 16 images',
      ['featuremaps', ...images, ...vgg, '--blocks', 'all', '--force', '-o', out],
      engine,
      16,
      [bare, '16'],
    );
    rows.push(sixteen.row, sixteen.bare);
    const ratio = (a: Row, b: Row) => a.wall.median / b.wall.median;
    const cold = find('featuremaps --blocks all, 1 image, first run (no ONNX cache)', engine);
    targets.push(
      [
        `one image, warm: cnnviz <= 1.1x the bare ONNX Runtime process (${ratio(single.row, single.bare).toFixed(2)}x: ${single.row.wall.median.toFixed(0)} against ${single.bare.wall.median.toFixed(0)} ms)`,
        ratio(single.row, single.bare) <= 1.1,
      ],
      [
        `16 images: cnnviz <= 1.3x sixteen bare forward passes (${ratio(sixteen.row, sixteen.bare).toFixed(2)}x: ${sixteen.row.wall.median.toFixed(0)} against ${sixteen.bare.wall.median.toFixed(0)} ms)`,
        ratio(sixteen.row, sixteen.bare) <= 1.3,
      ],
      [`first (cold) run peak RSS <= 400 MB (${cold.peakRssMB.toFixed(0)} MB)`, cold.peakRssMB <= 400],
    );
  }
  const one = find('featuremaps --blocks all, 1 image', engines[0]);
  const batch = find('featuremaps --blocks all, 16 images', engines[0]);
  targets.push(
    ['--help <= 250 ms', find('--help').wall.median <= 250],
    ['summary <= 500 ms', find('summary').wall.median <= 500],
    ['filters <= 1000 ms (weights cached)', find('filters').wall.median <= 1000],
    [
      'reading the 59 MB no-top .h5 <= 500 ms (stage read .h5 of the first run)',
      (find('featuremaps --blocks all, 1 image, first run (no ONNX cache)', engines[0])?.stages['read .h5'] ??
        Infinity) <= 500,
    ],
    [`featuremaps, 1 image <= 1500 ms [${engines[0]}]`, one.wall.median <= 1500],
    [`featuremaps peak RSS <= 400 MB [${engines[0]}]`, one.peakRssMB <= 400],
    [`forward pass <= 1.3 x PyTorch's 310 ms = 403 ms [${engines[0]}]`, one.stages.forward <= 403],
    [`16 images >= 2 images/s [${engines[0]}]`, (batch.imagesPerSecond ?? 0) >= 2],
  );
}

/**
 * `examples` over VGG16 at block4_conv3: images per second against featuremaps' own forward
 * rate on the same images, and peak RSS at 100 and 1,000 images (one run each: the long one
 * takes minutes).
 */
async function examplesCases(rows: Row[], targets: Targets, out: string): Promise<void> {
  const folder = join(CACHE, 'examples-images');
  const all = await makeImageFolder(folder, CAT, 995);
  const vgg = ['--weights', join(CACHE, BUILTIN_MODELS.vgg16.weights.notop.fileName)];
  const hundred = join(CACHE, 'examples-100');
  mkdirSync(hundred, { recursive: true });
  for (const path of all.slice(0, 100)) {
    const link = join(hundred, path.split('/').pop()!);
    if (!existsSync(link)) linkSync(path, link);
  }
  const examples = (images: string, n: number, runs: number) => {
    const args = [
      'examples',
      images,
      ...vgg,
      '--layer',
      'block4_conv3',
      '--channels',
      'all',
      '-o',
      join(out, `examples-${n}`),
    ];
    // A fresh state each time: a finished state would make the run only draw.
    return measure(`examples block4_conv3 --channels all, ${n} images`, args, 'onnx', n, false, runs, () =>
      rmSync(join(out, `examples-${n}`), { recursive: true, force: true }),
    );
  };
  const small = await examples(hundred, 100, RUNS);
  const forward = await measure(
    'featuremaps --layer block4_conv3, 100 images (its forward rate)',
    ['featuremaps', hundred, ...vgg, '--layer', 'block4_conv3', '--force', '-o', join(out, 'fm-100')],
    'onnx',
    100,
    false,
    1,
  );
  const large = await examples(folder, all.length, 1);
  rows.push(small, forward, large);
  const rate = (r: Row) => r.imagesPerSecond ?? 0;
  const forwardRate = 100 / ((forward.stages.forward ?? Infinity) / 1000);
  // Drawing every channel's picture is a fixed cost (channels x top tiles, whatever the number
  // of images): the rate of a collection is the long run's.
  targets.push(
    [
      `examples >= 3 images/s (100 images: ${rate(small).toFixed(2)}; ${all.length}: ${rate(large).toFixed(2)})`,
      rate(small) >= 3 && rate(large) >= 3,
    ],
    [
      `examples over ${all.length} images within 1.2x of the forward rate (${rate(large).toFixed(2)} against ${forwardRate.toFixed(2)} images/s of forward passes alone; 100 images: ${rate(small).toFixed(2)})`,
      rate(large) * 1.2 >= forwardRate,
    ],
    [
      `examples peak RSS flat from 100 to ${all.length} images (${small.peakRssMB.toFixed(0)} -> ${large.peakRssMB.toFixed(0)} MB, within 10%)`,
      large.peakRssMB <= small.peakRssMB * 1.1,
    ],
  );
}

async function resnetCases(rows: Row[], targets: Targets, out: string): Promise<void> {
  const resnet50 = prepareResnet50();
  rows.push(await measure('summary, ResNet-50 .onnx', ['summary', '--model', resnet50], 'auto'));
  rows.push(
    await measure(
      'featuremaps --blocks all, ResNet-50 .onnx, first run (no ONNX cache)',
      ['featuremaps', CAT, '--model', resnet50, '--blocks', 'all', '-o', out],
      'onnx',
      1,
      true,
    ),
  );
  const resnet = await measure(
    'featuremaps --blocks all, ResNet-50 .onnx',
    ['featuremaps', CAT, '--model', resnet50, '--blocks', 'all', '-o', out],
    'onnx',
    1,
  );
  rows.push(resnet);
  const floor = await ortFloor(resnet50);
  targets.push(
    [
      `ResNet-50 .onnx forward (${resnet.stages.forward.toFixed(0)} ms, one image) <= 1.1 x ONNX Runtime's own run of the file (${floor.firstMs.toFixed(0)} ms first, ${floor.medianMs.toFixed(0)} ms median)`,
      resnet.stages.forward <= 1.1 * floor.medianMs,
    ],
    ['ResNet-50 .onnx featuremaps --blocks all <= 1000 ms (prepared model cached)', resnet.wall.median <= 1000],
  );
}

main().catch((err) => {
  process.stderr.write(`bench: ${(err as Error).message}\n`);
  process.exitCode = 1;
});

/**
 * Gradients (issue 18), on torchvision's models exported by PyTorch: Grad-CAM's forward plus
 * backward against the forward pass and against PyTorch's own on the same weights, SmoothGrad's
 * 25 samples against one input gradient, and the peak memory of `cam` against `featuremaps`.
 */
async function gradientCases(rows: Row[], targets: Targets, notes: string[], out: string): Promise<void> {
  const reference = torchReference(CACHE, RUNS);
  if ('absent' in reference) {
    notes.push(`gradients: skipped, ${reference.absent} (it exports the models and times PyTorch)`);
    return;
  }
  notes.push(
    `PyTorch ${reference.torch}, ${reference.threads} threads, forward plus backward to the last stage (ms): ${JSON.stringify(reference.ms)}`,
  );
  for (const name of ['resnet50', 'vgg16', 'resnet18']) {
    const path = torchModel(CACHE, name)!;
    const t = await gradientTimes(path, RUNS, name === 'resnet18');
    const torch = reference.ms[name];
    notes.push(
      `${name}: forward ${t.forwardMs.toFixed(0)} ms; Grad-CAM forward+backward ${t.gradcamMs.toFixed(0)} ms (${(t.gradcamMs / t.forwardMs).toFixed(2)}x), through ConvTranspose ${t.gradcamTransposeMs.toFixed(0)} ms; PyTorch ${torch.toFixed(0)} ms` +
        (name === 'resnet18'
          ? `; input gradient ${t.inputGradientMs.toFixed(0)} ms, SmoothGrad 25 samples ${t.smoothgrad25Ms.toFixed(0)} ms (${(t.smoothgrad25Ms / t.inputGradientMs).toFixed(1)}x)`
          : ''),
    );
    if (name === 'resnet18') {
      targets.push([
        `SmoothGrad, 25 samples on ResNet-18 <= 25x one forward plus backward (${(t.smoothgrad25Ms / t.inputGradientMs).toFixed(1)}x)`,
        t.smoothgrad25Ms <= 25 * t.inputGradientMs,
      ]);
      continue;
    }
    targets.push([
      `Grad-CAM on ${name}: forward plus backward <= 2.5x the forward pass (${(t.gradcamMs / t.forwardMs).toFixed(2)}x)`,
      t.gradcamMs <= 2.5 * t.forwardMs,
    ]);
    targets.push([
      `Grad-CAM on ${name}: <= 1.0x PyTorch's forward plus backward (${(t.gradcamMs / torch).toFixed(2)}x)`,
      t.gradcamMs <= torch,
    ]);
  }
  const vgg = torchModel(CACHE, 'vgg16')!;
  const cam = await measure(
    'cam (Grad-CAM), VGG16 with its classifier (ONNX)',
    ['cam', CAT, '--model', vgg, '--preprocess', 'torch', '-o', out],
    'auto',
    1,
  );
  const maps = await measure(
    'featuremaps --blocks all, the same VGG16 (ONNX)',
    ['featuremaps', CAT, '--model', vgg, '--blocks', 'all', '-o', out],
    'auto',
    1,
  );
  rows.push(cam, maps);
  targets.push([
    `Grad-CAM's peak memory on VGG16 <= 1.5x featuremaps' (${cam.peakRssMB.toFixed(0)} MB against ${maps.peakRssMB.toFixed(0)} MB)`,
    cam.peakRssMB <= 1.5 * maps.peakRssMB,
  ]);
}

/**
 * Feature visualization (issue 19): `maximize` at VGG16's block4_conv3, 8 channels at 128x128,
 * 32 steps (the seeded VGG16 weights), against a Lucent-style PyTorch loop doing the same work
 * (bench/torch_maximize.py: its steps only, building the model not counted).
 */
async function maximizeCases(rows: Row[], targets: Targets, notes: string[], out: string): Promise<void> {
  const vgg = join(CACHE, BUILTIN_MODELS.vgg16.weights.notop.fileName);
  const args = ['maximize', '--layer', 'block4_conv3', '--channels', '0-7', '--size', '128', '--steps', '32'];
  const row = await measure(
    'maximize, VGG16 block4_conv3, 8 channels at 128x128, 32 steps',
    [...args, '--weights', vgg, '--force', '-o', out],
    'auto',
    0,
    false,
    Math.min(RUNS, 3),
  );
  rows.push(row);
  let torch: { seconds: number; torch: string; threads: number } | undefined;
  try {
    const script = join(ROOT, 'bench', 'torch_maximize.py');
    const runs = Array.from({ length: Math.min(RUNS, 3) }, () =>
      JSON.parse(
        execFileSync('/usr/bin/python3', [script, '8', '128', '32'], {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'ignore'],
        })
          .trim()
          .split('\n')
          .pop()!,
      ),
    );
    torch = { ...runs[0], seconds: median(runs.map((r) => r.seconds)) };
  } catch (err) {
    notes.push(`maximize: the PyTorch loop did not run here (${(err as Error).message.split('\n')[0]}); no comparison`);
    return;
  }
  const ratio = row.wall.median / 1000 / torch!.seconds;
  notes.push(
    `maximize: cnnviz's whole process ${(row.wall.median / 1000).toFixed(1)} s (forward+backward on ONNX Runtime ${((row.stages['forward+backward'] ?? 0) / 1000).toFixed(1)} s, image ${((row.stages.image ?? 0) / 1000).toFixed(1)} s, transforms ${((row.stages.transforms ?? 0) / 1000).toFixed(1)} s); the Lucent-style PyTorch ${torch!.torch} loop, ${torch!.threads} threads, its 32 steps alone: ${torch!.seconds.toFixed(1)} s`,
  );
  targets.push([`maximize at VGG16 block4_conv3 <= 0.5x the PyTorch loop (${ratio.toFixed(2)}x)`, ratio <= 0.5]);
}
