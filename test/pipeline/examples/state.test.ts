/**
 * A state.json is input, not truth. Each tampering the probes found is injected into a real
 * run's state: the rerun says in one line why the state is not used and starts over, ending
 * with exactly a clean run's pictures; the same state given to --merge is refused in one line
 * naming the shard. Nothing is written outside -o, whatever a state says. Memory follows the
 * images, not --top; a replaced image is noticed; Ctrl-C keeps the progress.
 */
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import sharp from 'sharp';
import { parseStateFile } from '../../../src/pipeline/examples/schema.js';
import { cnnviz, readPng, startCnnviz } from '../../helpers/cli.js';
import { makeImageFolder, picturesOf } from '../../helpers/image-folder.js';
import { CAT, TINY_VGG, withTinyVgg } from '../../helpers/paths.js';
import { filesBelow } from '../../helpers/faults.js';
import { validState } from '../../helpers/examples-state.js';

const tmp = (name: string) => mkdtempSync(join(tmpdir(), `cnnviz-state-${name}-`));
const tinyTest = withTinyVgg();
const LAYER = 'relu_2_2';
const base = (photos: string) => ['examples', photos, '--model', TINY_VGG, '--layer', LAYER, '--top', '4'];

let photos: string;
let clean: { out: string; state: any; pictures: Record<string, string> };

beforeAll(async () => {
  photos = tmp('photos');
  await makeImageFolder(photos, CAT);
  const out = tmp('clean');
  if (existsSync(TINY_VGG)) {
    const run = await cnnviz([...base(photos), '-o', out]);
    expect(run.code).toBe(0);
    clean = {
      out,
      state: JSON.parse(readFileSync(join(out, LAYER, 'state.json'), 'utf8')),
      pictures: picturesOf(join(out, LAYER)),
    };
  }
});

type Tamper = (state: any) => void;
const exampleImage = (s: any) => s.examples[0][0];
const TAMPERED: Array<[string, Tamper, RegExp]> = [
  [
    '/etc/passwd as an example image',
    (s) => (exampleImage(s).image = '/etc/passwd'),
    /examples\[0\]\[0\]: image '\/etc\/passwd' has no recorded size|names '\/etc\/passwd' as an example/,
  ],
  [
    '/etc/passwd with a recorded size',
    (s) => {
      exampleImage(s).image = '/etc/passwd';
      s.sources['/etc/passwd'] = { width: 4000, height: 4000, sha256: '0'.repeat(64) };
    },
    /it names '\/etc\/passwd' as an example, which is not one of the images it went through/,
  ],
  [
    'a box past the image',
    (s) => (exampleImage(s).box[2] = 100000),
    /examples\[0\]\[0\]\.box: \[.*\] is not a box inside its \d+x\d+ image/,
  ],
  [
    'a reversed box',
    (s) => (exampleImage(s).box = [40, 40, 10, 10]),
    /examples\[0\]\[0\]\.box: \[40, 40, 10, 10\] is not a box inside/,
  ],
  ['examples: []', (s) => (s.examples = []), /examples: 0 lists for 10 channels/],
  ['done: -4', (s) => (s.done = -4), /done: Too small: expected number to be >=0/],
  ['done: "3"', (s) => (s.done = '3'), /done: Invalid input: expected number, received string/],
  ['done: 1e300', (s) => (s.done = 1e300), /done: Too big: expected int to be <=9007199254740991/],
  [
    'a channel that climbs out of -o',
    (s) => (s.settings.channels[9] = '/../../../../ESCAPED'),
    /settings\.channels\[9\]: Invalid input: expected number, received string/,
  ],
  [
    'a channel past the layer',
    (s) => (s.settings.channels[9] = 4000),
    /settings\.channels: not distinct ascending channels of a layer of 10/,
  ],
  [
    'a tile of 100000 pixels',
    (s) => (s.settings.tile = 100000),
    /settings\.tile: Too big: expected number to be <=1024/,
  ],
  [
    'a score that is not finite',
    (s) => (exampleImage(s).score = null),
    /examples\[0\]\[0\]\.score: Invalid input: expected number, received null/,
  ],
  [
    'a position off the map',
    (s) => (exampleImage(s).y = 26),
    /examples\[0\]\[0\]: position \(26, \d+\) is outside the layer's 26x26 map/,
  ],
  ['lists out of order', (s) => s.examples[0].reverse(), /examples\[0\]\[1\]: out of order/],
  ['an older version', (s) => (s.version = 1), /made by another version of cnnviz \(state version 1\)/],
];

describe('a tampered state is discarded with one line and the run starts over', () => {
  tinyTest.each(TAMPERED)('%s', async (_name, tamper, why) => {
    const out = tmp('tampered');
    mkdirSync(join(out, LAYER));
    const state = structuredClone(clean.state);
    tamper(state);
    writeFileSync(join(out, LAYER, 'state.json'), JSON.stringify(state));
    const run = await cnnviz([...base(photos), '-o', out]);
    expect(run.stderr).toMatch(why);
    expect(run.stderr).toMatch(
      new RegExp(
        `cnnviz: '${join(out, LAYER, 'state.json')}' cannot be used \\(.*\\); starting over\\n|is not continued \\(.*\\); starting over\\n`,
      ),
    );
    expect(
      run.stderr
        .trim()
        .split('\n')
        .filter((l) => !l.includes('preprocessing')),
    ).toHaveLength(1);
    expect(run.code).toBe(0);
    expect(picturesOf(join(out, LAYER))).toEqual(clean.pictures);
  });
});

describe("a tampered shard's state at --merge: one line naming the shard, exit 2, nothing written anywhere", () => {
  let shards: string;
  beforeAll(async () => {
    shards = tmp('shards');
    if (!existsSync(TINY_VGG)) return;
    const runs = await Promise.all(
      [0, 1].map((i) => cnnviz([...base(photos), '--shard', `${i}/2`, '-o', join(shards, `s${i}`)])),
    );
    expect(runs.map((r) => r.code)).toEqual([0, 0]);
  });

  tinyTest.each(TAMPERED.filter(([name]) => !name.includes('with a recorded size')))(
    '%s',
    async (_name, tamper, why) => {
      const copy = tmp('shard-copy');
      for (const i of [0, 1]) copyFolder(join(shards, `s${i}`), join(copy, `s${i}`));
      const path = join(copy, 's1', LAYER, 'state.json');
      const state = JSON.parse(readFileSync(path, 'utf8'));
      tamper(state);
      writeFileSync(path, JSON.stringify(state));
      const before = filesBelow(copy);
      const out = join(copy, 'a', 'b', 'c', 'd', 'out');
      const run = await cnnviz(['examples', '--merge', join(copy, 's0'), join(copy, 's1'), '-o', out]);
      expect(run.stderr).toMatch(
        new RegExp(`^cnnviz: the shard in '${join(copy, 's1', LAYER)}': '${path}' cannot be used \\(`),
      );
      expect(run.stderr).toMatch(why);
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
      expect(run.code).toBe(2);
      expect(filesBelow(copy)).toEqual(before);
    },
  );

  tinyTest('a shard of 100,000,000 is refused at once, the missing ones named and counted', async () => {
    const out = tmp('many-shards');
    const shard = await cnnviz([...base(photos), '--shard', '0/100000000', '-o', out]);
    expect(shard.code).toBe(0);
    const started = Date.now();
    const merge = await cnnviz(['examples', '--merge', out, '-o', join(out, 'merged')]);
    expect(merge.stderr).toBe(
      'cnnviz: shards 1/100000000, 2/100000000, 3/100000000, 4/100000000, 5/100000000 and 99,999,994 more missing from the merge\n',
    );
    expect(merge.code).toBe(2);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  tinyTest('a state that is a symbolic link is refused, its target never read', async () => {
    const copy = tmp('shard-link');
    for (const i of [0, 1]) copyFolder(join(shards, `s${i}`), join(copy, `s${i}`));
    const path = join(copy, 's1', LAYER, 'state.json');
    renameSync(path, join(copy, 'elsewhere.json'));
    symlinkSync(join(copy, 'elsewhere.json'), path);
    const merge = await cnnviz(['examples', '--merge', join(copy, 's0'), join(copy, 's1'), '-o', join(copy, 'out')]);
    expect(merge.stderr).toBe(
      `cnnviz: the shard in '${join(copy, 's1', LAYER)}': '${path}' cannot be used (it is a symbolic link; cnnviz writes its state as a file and follows no link)\n`,
    );
    expect(merge.code).toBe(2);
    // A run that meets a linked state starts over and replaces the link, not its target.
    const target = readFileSync(join(copy, 'elsewhere.json'), 'utf8');
    const run = await cnnviz([...base(photos), '--shard', '1/2', '-o', join(copy, 's1')]);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('is a symbolic link');
    expect(readFileSync(join(copy, 'elsewhere.json'), 'utf8')).toBe(target);
  });
});

function copyFolder(from: string, to: string): void {
  mkdirSync(to, { recursive: true });
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    if (entry.isDirectory()) copyFolder(join(from, entry.name), join(to, entry.name));
    else copyFileSync(join(from, entry.name), join(to, entry.name));
  }
}

test("the schema's oracle: a state whose parts disagree is named by the part", () => {
  const state = validState();
  expect(parseStateFile(state)).toEqual({ state });
  expect(parseStateFile({ ...state, slice: [0, 2] })).toEqual({
    problem: "slice: [0, 2] is not the shard's part of 3 images ([0, 3])",
  });
  expect(parseStateFile({ ...state, scored: 2 })).toEqual({ problem: 'failed: 1 listed, 0 expected' });
  expect(parseStateFile({ ...state, complete: true })).toEqual({ problem: 'complete, but done is 2 of 3' });
  expect(parseStateFile({ ...state, stamps: [] })).toEqual({ problem: 'stamps: 0 for 2 images' });
  expect(parseStateFile({ ...state, settings: { ...state.settings, top: 0 } })).toEqual({
    problem: 'settings.top: Too small: expected number to be >=1',
  });
});

tinyTest('--top far past the images draws as many columns as there are images, in the memory of that', async () => {
  for (const top of ['100000', '1000000000']) {
    const out = tmp('top');
    const run = await cnnviz([
      'examples',
      photos,
      '--model',
      TINY_VGG,
      '--layer',
      LAYER,
      '--channels',
      '0-1',
      '--top',
      top,
      '-o',
      out,
    ]);
    expect(run.code).toBe(0);
    // 17 images: 17 tiles of 96 pixels, 2 between and around.
    expect(readPng(join(out, LAYER, 'channel-000.png')).width).toBe(17 * 98 + 2);
    expect(JSON.parse(readFileSync(join(out, LAYER, 'examples.json'), 'utf8')).channels[0].examples).toHaveLength(17);
  }
});

describe('a replaced image is noticed', () => {
  tinyTest(
    'an example image overwritten by a smaller one: the rerun starts over and draws what a fresh run draws',
    async () => {
      const folder = tmp('replaced');
      for (const f of readdirSync(photos)) copyFileSync(join(photos, f), join(folder, f));
      const out = tmp('replaced-out');
      expect((await cnnviz([...base(folder), '-o', out])).code).toBe(0);
      const first = JSON.parse(readFileSync(join(out, LAYER, 'examples.json'), 'utf8'));
      const victim = first.channels[0].examples[0].image;
      await sharp(join(folder, basename(victim)))
        .resize(20, 20)
        .png()
        .toFile(join(folder, 'small.png'));
      renameSync(join(folder, 'small.png'), victim);
      const rerun = await cnnviz([...base(folder), '-o', out]);
      expect(rerun.stderr).toContain(
        `cnnviz: '${victim}' changed since it was scored, and it is one of the examples; starting over`,
      );
      expect(rerun.code).toBe(0);
      const fresh = tmp('replaced-fresh');
      expect((await cnnviz([...base(folder), '-o', fresh])).code).toBe(0);
      expect(picturesOf(join(out, LAYER))).toEqual(picturesOf(join(fresh, LAYER)));
    },
  );

  tinyTest(
    'an image that ranked nowhere, replaced by one that ranks: scored again alone, the result a fresh run',
    async () => {
      const folder = tmp('replaced-other');
      for (const f of readdirSync(photos)) copyFileSync(join(photos, f), join(folder, f));
      const out = tmp('replaced-other-out');
      const args = ['examples', folder, '--model', TINY_VGG, '--layer', LAYER, '--top', '1'];
      expect((await cnnviz([...args, '-o', out])).code).toBe(0);
      const examples = JSON.parse(readFileSync(join(out, LAYER, 'examples.json'), 'utf8'));
      const ranked = new Set(examples.channels.flatMap((c: any) => c.examples.map((e: any) => e.image)));
      const nowhere = readdirSync(folder)
        .map((f) => join(folder, f))
        .find((p) => !ranked.has(p))!;
      const best = examples.channels[3].examples[0].image;
      copyFileSync(best, nowhere);
      const rerun = await cnnviz([...args, '-o', out]);
      expect(rerun.stderr).toContain(`cnnviz: 1 image changed since scored (${nowhere}); scoring it again`);
      expect(rerun.code).toBe(0);
      const fresh = tmp('replaced-other-fresh');
      expect((await cnnviz([...args, '-o', fresh])).code).toBe(0);
      expect(picturesOf(join(out, LAYER))).toEqual(picturesOf(join(fresh, LAYER)));
    },
  );
});

test('Ctrl-C saves the progress since the last save, and the rerun continues from it', async () => {
  // VGG16 with seeded weights: slow enough per image to interrupt part way; the state is saved every 50 only.
  const args = ['examples', photos, '--weights', 'none', '--layer', 'block4_conv3', '--channels', '0-3', '--top', '2'];
  const out = tmp('sigint');
  const { child, result } = startCnnviz([...args, '-o', out]);
  // The notice of seeded weights comes once the engine runs; a second later some images are scored.
  await new Promise<void>((resolve) =>
    child.stderr!.on('data', (d) => String(d).includes('untrained network') && resolve()),
  );
  await new Promise((r) => setTimeout(r, 800));
  child.kill('SIGINT');
  const interrupted = await result;
  expect(interrupted.code).toBe(130);
  const saved = JSON.parse(readFileSync(join(out, 'block4_conv3', 'state.json'), 'utf8'));
  expect(saved.done).toBeGreaterThan(0);
  expect(saved.done).toBeLessThan(17);
  const rerun = await cnnviz([...args, '-o', out]);
  expect(rerun.stderr).toContain(`continuing after ${saved.done} of 17 images`);
  expect(rerun.code).toBe(0);
}, 90_000);
