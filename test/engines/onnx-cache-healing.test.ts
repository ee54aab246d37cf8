/**
 * The ONNX cache heals itself: a damaged entry (bytes changed, cut short, a file gone, not
 * loadable) is found by its checksums, rebuilt once with one line saying so, and the maps are
 * those of a clean run; a cache that cannot be written leaves the run on ONNX Runtime all the
 * same, saying so. Leftovers of dead runs go; ONNX Runtime leaves nothing in the temp folder.
 */
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { cnnviz } from '../helpers/cli.js';
import { asRoot, tinyDisk } from '../helpers/faults.js';
import { FIXTURES } from '../helpers/paths.js';

const MODEL = join(FIXTURES, 'onnx', 'tiny_resnet.onnx');
const IMAGE = join(FIXTURES, 'onnx', 'cat64.png');
const tmp = (name: string) => mkdtempSync(join(tmpdir(), `cnnviz-${name}-`));

/** featuremaps of one layer with its .npy, on `inputs` (the cat alone by default); the array of `npyOf` read back. */
async function run(
  cache: string,
  extra: string[] = [],
  env: NodeJS.ProcessEnv = {},
  inputs = [IMAGE],
  npyOf = 'cat64-layer2_layer2.0_relu_1_Relu.npy',
) {
  const out = tmp('heal-out');
  const result = await cnnviz(
    [
      'featuremaps',
      ...inputs,
      '--model',
      MODEL,
      '--layer',
      '/layer2/layer2.0/relu_1/Relu',
      '--save-npy',
      '-o',
      out,
      ...extra,
    ],
    { CNNVIZ_CACHE: cache, ...env },
  );
  const npy = join(out, npyOf);
  const notices = result.stderr.split('\n').filter((l) => l && !l.includes('preprocessing:'));
  return { ...result, notices, npy: existsSync(npy) ? readFileSync(npy) : undefined };
}

const entryOf = (cache: string) =>
  join(
    cache,
    'onnx',
    readdirSync(join(cache, 'onnx')).find((n) => /^[0-9a-f]{32}$/.test(n))!,
  );

test('a first run leaves only the prepared model in its entry (not the model it was optimised from), and draws what runs from the entry draw', async () => {
  const cache = tmp('first-cache');
  const first = await run(cache);
  expect(first.code).toBe(0);
  expect(readdirSync(entryOf(cache)).sort()).toEqual(['entry.json', 'model.onnx', 'weights.bin']);
  const later = await run(cache);
  expect(later.notices).toEqual([]);
  expect(later.npy!.equals(first.npy!)).toBe(true);
});

test.each([
  [
    'weights.bin changed in place, same size',
    (entry: string) => {
      const bytes = readFileSync(join(entry, 'weights.bin'));
      bytes[1000] ^= 0xff;
      writeFileSync(join(entry, 'weights.bin'), bytes);
    },
    /weights\.bin does not match its checksum/,
  ],
  [
    'model.onnx cut short',
    (entry: string) => truncateSync(join(entry, 'model.onnx'), 100),
    /model\.onnx has 100 bytes, not \d+/,
  ],
  ['weights.bin deleted', (entry: string) => rmSync(join(entry, 'weights.bin')), /weights\.bin is missing/],
  [
    'no checksums (an entry from before they were kept)',
    (entry: string) => rmSync(join(entry, 'entry.json')),
    /it has no readable checksums/,
  ],
])('%s: rebuilt once, saying so in one line; the maps equal a clean run', async (_what, damage, reason) => {
  const cache = tmp('heal-cache');
  const clean = await run(cache);
  expect(clean.code).toBe(0);
  damage(entryOf(cache));
  const healed = await run(cache, ['--verbose']);
  expect(healed.code).toBe(0);
  // --verbose lines (how the model was read, the backend) aside, one line is said.
  const verbose = /^cnnviz: (ONNX file|shapes|backend|description from the cache)/;
  const said = healed.notices.filter((l) => !verbose.test(l));
  expect(said).toHaveLength(1);
  expect(said[0]).toMatch(/^cnnviz: the prepared model in the cache was damaged \(.*\); rebuilding it$/);
  expect(said[0]).toMatch(reason);
  expect(healed.stderr).toContain('cnnviz: backend: onnx');
  expect(healed.npy!.equals(clean.npy!)).toBe(true);
  const after = await run(cache);
  expect(after.notices).toEqual([]);
});

asRoot()(
  'a read-only cache folder: the run stays on ONNX Runtime with the model built in memory, and says once that the cache could not be written',
  async () => {
    const disk = tinyDisk('16k', true);
    try {
      const clean = await run(tmp('heal-clean'));
      const result = await run(join(disk.path, 'cache'), ['--verbose']);
      expect(result.code).toBe(0);
      expect(result.stderr).toContain('cnnviz: backend: onnx');
      expect(result.notices.filter((l) => l.includes('cache'))).toEqual([
        `cnnviz: cannot write the ONNX cache in '${join(disk.path, 'cache', 'onnx')}' (the file system is read-only (EROFS)); running without it, so set-up is not saved for next time`,
      ]);
      expect(result.npy!.equals(clean.npy!)).toBe(true);
    } finally {
      disk.remove();
    }
  },
);

asRoot()(
  'a full cache disk: writing the prepared model fails, the run goes on from memory on ONNX Runtime, saying so',
  async () => {
    // 64 KB: the folder is made, the 312 KB weights file of the prepared model does not fit.
    const disk = tinyDisk('64k');
    try {
      const clean = await run(tmp('heal-clean-full'));
      const result = await run(join(disk.path, 'cache'), ['--verbose']);
      expect(result.code).toBe(0);
      expect(result.stderr).toContain('cnnviz: backend: onnx');
      expect(result.notices.filter((l) => l.includes('cache'))).toEqual([
        `cnnviz: cannot write the ONNX cache in '${join(disk.path, 'cache', 'onnx')}' (no space left on the device (ENOSPC)); running without it`,
      ]);
      expect(result.npy!.equals(clean.npy!)).toBe(true);
      // No half-written entry: only the small description of the file fitted.
      expect(readdirSync(join(disk.path, 'cache', 'onnx'))).toEqual(['descriptions']);
    } finally {
      disk.remove();
    }
  },
);

test("a dead run's half-written pictures in the output folder go on the next run; a live run's stay", async () => {
  const out = tmp('heal-out-temps');
  mkdirSync(join(out, 'a'));
  writeFileSync(join(out, 'a', '.cnnviz-tmp-999999-0a1b2c3d-relu_Relu.png'), 'half a png');
  writeFileSync(join(out, `.cnnviz-tmp-${process.pid}-0a1b2c3d-b.png`), 'being written');
  const result = await cnnviz(['featuremaps', IMAGE, '--model', MODEL, '--layer', '/relu/Relu', '-o', out], {
    CNNVIZ_CACHE: tmp('heal-c'),
  });
  expect(result.code).toBe(0);
  expect(readdirSync(join(out, 'a'))).toEqual([]);
  expect(readdirSync(out).sort()).toEqual([`.cnnviz-tmp-${process.pid}-0a1b2c3d-b.png`, 'a', 'cat64-relu_Relu.png']);
});

test("a dead run's half-made entry and half-downloaded weights go on the next run; a live run's stay", async () => {
  const cache = tmp('heal-leftovers');
  mkdirSync(join(cache, 'onnx', '.cnnviz-tmp-999999-0a1b2c3d-0123456789abcdef0123456789abcdef'), { recursive: true });
  mkdirSync(join(cache, 'onnx', `.cnnviz-tmp-${process.pid}-0a1b2c3d-fedcba9876543210fedcba9876543210`), {
    recursive: true,
  });
  writeFileSync(join(cache, '.cnnviz-tmp-999999-0a1b2c3d-vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5'), 'half');
  await run(cache);
  expect(readdirSync(join(cache, 'onnx')).filter((n) => n.startsWith('.cnnviz-tmp-'))).toEqual([
    `.cnnviz-tmp-${process.pid}-0a1b2c3d-fedcba9876543210fedcba9876543210`,
  ]);
  // The weights cache is cleaned when imagenet weights are looked for.
  await cnnviz(['filters', '-o', tmp('heal-f')], {
    CNNVIZ_CACHE: cache,
    HOME: tmp('home'),
    CNNVIZ_WEIGHTS_BASE_URL: 'http://127.0.0.1:9/',
  });
  expect(readdirSync(cache).filter((n) => n.startsWith('.cnnviz-tmp-'))).toEqual([]);
});

test('ONNX Runtime leaves no mat-debug log nor .ses file in the temp folder', async () => {
  const temp = tmp('ortemp');
  const result = await run(tmp('heal-tmpdir'), [], { TMPDIR: temp });
  expect(result.code).toBe(0);
  expect(readdirSync(temp)).toEqual([]);
});

test('an entry that checks out but ONNX Runtime cannot open: the lanes of a batch give up, this thread rebuilds it saying so once, and the maps equal a clean run', async () => {
  const photos = tmp('heal-batch');
  for (const name of ['a', 'b', 'c']) writeFileSync(join(photos, `${name}.png`), readFileSync(IMAGE));
  // Three images, two threads: two lanes.
  const batch = (cache: string) =>
    run(cache, ['--verbose'], { CNNVIZ_THREADS: '2' }, [photos], join('b', 'layer2_layer2.0_relu_1_Relu.npy'));
  const cache = tmp('heal-batch-cache');
  const clean = await batch(cache);
  expect(clean.code).toBe(0);
  expect(clean.stderr).toContain('forward passes in 2 lanes');
  // Not a model any more, with checksums that say it is the file the entry made.
  const entry = entryOf(cache);
  const model = join(entry, 'model.onnx');
  writeFileSync(model, Buffer.alloc(readFileSync(model).length, 7));
  const manifest = JSON.parse(readFileSync(join(entry, 'entry.json'), 'utf8'));
  manifest['model.onnx'] = {
    size: statSync(model).size,
    mtimeMs: statSync(model).mtimeMs,
    crc32: crc32(readFileSync(model)),
  };
  writeFileSync(join(entry, 'entry.json'), JSON.stringify(manifest));

  const healed = await batch(cache);
  expect(healed.code).toBe(0);
  expect(healed.stderr).toMatch(/cnnviz: forward lanes did not start \(.+\); one session in this thread/);
  expect(healed.stderr.split('\n').filter((l) => l.includes('could not be loaded'))).toEqual([
    expect.stringMatching(/^cnnviz: the prepared model in the cache could not be loaded \(.+\); rebuilding it$/),
  ]);
  expect(healed.npy!.equals(clean.npy!)).toBe(true);
  // Rebuilt: the next batch runs in lanes again.
  expect((await batch(cache)).stderr).toContain('forward passes in 2 lanes');
});
