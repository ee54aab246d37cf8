/**
 * A small folder of different images, made from a photo (the fixture cat) (crops, flips, hue turns,
 * zooms) and a few drawn patterns (stripes, a checkerboard, rings), for the tests and the
 * README's pictures of `cnnviz examples`. The same files every time.
 */
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';

/** An RGB pattern of size x size from f(x, y) -> [r, g, b]. */
function pattern(size: number, f: (x: number, y: number) => [number, number, number]): Buffer {
  const data = Buffer.alloc(size * size * 3);
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) data.set(f(x, y), (y * size + x) * 3);
  return data;
}

/** `cats` variants of the photo at `source`, and the patterns; the paths, sorted. */
export async function makeImageFolder(dir: string, source: string, cats = 12): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  const paths: string[] = [];
  const meta = await sharp(source).metadata();
  for (let i = 0; i < cats; i++) {
    const size = 120 + ((i * 37) % 150);
    const left = (i * 53) % (meta.width! - size);
    const top = (i * 29) % (meta.height! - size);
    let image = sharp(source).extract({ left, top, width: size, height: size });
    if (i % 2) image = image.flop();
    if (i % 3 === 1) image = image.modulate({ hue: 40 * i });
    const path = join(dir, `cat-${String(i).padStart(2, '0')}.png`);
    await image.png().toFile(path);
    paths.push(path);
  }
  const size = 128;
  const patterns: Array<[string, (x: number, y: number) => [number, number, number]]> = [
    ['stripes-vertical', (x) => (Math.floor(x / 8) % 2 ? [230, 40, 40] : [20, 20, 20])],
    ['stripes-horizontal', (_x, y) => (Math.floor(y / 6) % 2 ? [40, 200, 60] : [240, 240, 240])],
    ['stripes-diagonal', (x, y) => (Math.floor((x + y) / 10) % 2 ? [40, 60, 220] : [250, 220, 60])],
    ['checkerboard', (x, y) => ((Math.floor(x / 16) + Math.floor(y / 16)) % 2 ? [255, 255, 255] : [0, 0, 0])],
    ['rings', (x, y) => (Math.floor(Math.hypot(x - 64, y - 64) / 7) % 2 ? [250, 130, 20] : [30, 30, 80])],
  ];
  for (const [name, f] of patterns) {
    const path = join(dir, `${name}.png`);
    await sharp(pattern(size, f), { raw: { width: size, height: size, channels: 3 } })
      .png()
      .toFile(path);
    paths.push(path);
  }
  return paths.sort();
}

/** Every file under an examples layer folder but the state and the shard tiles, by name, with its bytes: for byte-for-byte comparisons of runs. */
export const picturesOf = (folder: string): Record<string, string> =>
  Object.fromEntries(
    readdirSync(folder)
      .filter((f) => f !== 'state.json' && f !== 'sources')
      .sort()
      .map((f) => [f, readFileSync(join(folder, f)).toString('base64')]),
  );
