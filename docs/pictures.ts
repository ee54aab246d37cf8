/**
 * Makes the README's pictures of `cnnviz examples`, `cam` and `saliency`: the shared tiny-vgg
 * model over the folder of images the tests make (cat variants and drawn patterns), and over a
 * ladybug drawn here (one of its classes). Run after `npm run bench` has compiled it (or
 * `npx tsc -p bench/tsconfig.json`): `node dist-bench/docs/pictures.js`.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
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

// A ladybug as a child draws one: red shell, black spots, head and line, on leaf green.
const LADYBUG = `<svg xmlns="http://www.w3.org/2000/svg" width="256" height="256">
<rect width="256" height="256" fill="#6fa84a"/>
<ellipse cx="128" cy="140" rx="80" ry="90" fill="#d81e1e"/>
<circle cx="128" cy="56" r="36" fill="#111"/>
<line x1="128" y1="60" x2="128" y2="228" stroke="#111" stroke-width="5"/>
<circle cx="92" cy="110" r="16" fill="#111"/><circle cx="164" cy="110" r="16" fill="#111"/>
<circle cx="84" cy="170" r="14" fill="#111"/><circle cx="172" cy="170" r="14" fill="#111"/>
<circle cx="116" cy="200" r="10" fill="#111"/><circle cx="140" cy="200" r="10" fill="#111"/>
<circle cx="114" cy="44" r="7" fill="#fff"/><circle cx="142" cy="44" r="7" fill="#fff"/>
</svg>`;
const ladybug = join(ROOT, 'docs', 'images', 'ladybug.png');
await sharp(Buffer.from(LADYBUG)).png().toFile(ladybug);
const labels = join(ROOT, 'fixtures', 'models', 'tiny-vgg', 'classes.txt');
const explained = join(work, 'explained');
run('cam', ladybug, '--model', model, '--labels', labels, '--resize', 'area', '-o', explained);
const methods = ['gradient', 'smoothgrad', 'integrated', 'guided'];
for (const method of methods)
  run(
    'saliency',
    ladybug,
    '--model',
    model,
    '--labels',
    labels,
    '--resize',
    'area',
    '--method',
    method,
    '-o',
    explained,
  );
// One strip: the image, Grad-CAM over it, then each saliency map, 256 px each.
const panels = [
  ladybug,
  join(explained, 'ladybug-cam-gradcam.png'),
  ...methods.map((m) => join(explained, `ladybug-saliency-${m}.png`)),
];
const tiles = await Promise.all(
  panels.map((p) =>
    sharp(p).resize(256, 256, { kernel: 'nearest' }).removeAlpha().toColourspace('srgb').png().toBuffer(),
  ),
);
await sharp({
  create: { width: 256 * tiles.length + 8 * (tiles.length - 1), height: 256, channels: 3, background: '#ffffff' },
})
  .composite(tiles.map((input, i) => ({ input, left: i * 264, top: 0 })))
  .png()
  .toFile(join(ROOT, 'docs', 'images', 'tiny-vgg-ladybug-explained.png'));

// Feature visualization of relu_2_2, each channel beside its dataset examples (the row of the
// examples overview above): Microscope's view of tiny-vgg.
const maximized = join(work, 'maximized');
run('maximize', '--model', model, '--layer', 'relu_2_2', '--channels', 'all', '-o', maximized);
copyFileSync(
  join(maximized, 'relu_2_2', 'overview.png'),
  join(ROOT, 'docs', 'images', 'tiny-vgg-maximize-relu_2_2.png'),
);
const examplesOverview = join(work, 'out', 'relu_2_2', 'overview.png');
const { width: overviewWidth } = await sharp(examplesOverview).metadata();
// The examples overview: 48-pixel crops, 2-pixel gaps, a row per channel.
const rowsOf = Array.from({ length: 10 }, (_, k) => k);
const composed = await Promise.all(
  rowsOf.flatMap((k) => [
    sharp(join(maximized, 'relu_2_2', `channel-${String(k).padStart(3, '0')}.png`))
      .resize(96, 96, { kernel: 'nearest' })
      .png()
      .toBuffer()
      .then((input) => ({ input, left: 0, top: k * 100 })),
    sharp(examplesOverview)
      .extract({ left: 0, top: 2 + 50 * k, width: overviewWidth!, height: 48 })
      .resize({ height: 96, kernel: 'nearest' })
      .png()
      .toBuffer()
      .then((input) => ({ input, left: 104, top: k * 100 })),
  ]),
);
await sharp({ create: { width: 104 + 2 * overviewWidth!, height: 1000, channels: 3, background: '#ffffff' } })
  .composite(composed)
  .png()
  .toFile(join(ROOT, 'docs', 'images', 'tiny-vgg-maximize-beside-examples.png'));
