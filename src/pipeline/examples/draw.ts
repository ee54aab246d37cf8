/**
 * The drawing half of `cnnviz examples`: each example's tiles (the crop of its field, and with
 * --context the whole image with the field outlined), cut from the images once all are scored;
 * then a picture per channel, an overview and examples.json. A shard keeps its tiles as PNG
 * for the merge, which draws from them exactly what one run over all the images draws.
 */
import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileSystemReason, messageOf, runtimeError, usageError } from '../../errors.js';
import { cropImage, fitImage, fitRect } from '../../image/crop.js';
import { decodeImage, decodeImageFile, type FileIdentity, type RgbImage } from '../../image/decode.js';
import { outputPath, writeFileAtomic, writePng, type WrittenFile } from '../../output/files.js';
import { channelPicture, outlineRect, overviewPicture } from '../../render/examples.js';
import type { PixelImage } from '../../render/mosaic.js';
import { timed, timedSync } from '../../timings.js';
import type { Example } from './scores.js';
import { SOURCES_FOLDER, type ExamplesSettings, type SourceImage } from './state.js';

export interface Tiles {
  crop: RgbImage;
  context?: RgbImage;
}

/** The outline of a field on the context tiles: a yellow that shows on photos. */
const OUTLINE: [number, number, number] = [255, 214, 0];
/** Overview crops are at most this many pixels on a side, so that hundreds of rows stay a picture. */
const OVERVIEW_TILE = 48;

/** One key per distinct example (an image and a position); channels that share one share its tiles. */
export const tileKey = (e: Example): string =>
  createHash('sha256').update(`${e.image}\n${e.y}\n${e.x}`).digest('hex').slice(0, 20);

const pixels = (image: RgbImage): PixelImage => ({ ...image, channels: 3 });

/** An example's tiles from its decoded image. */
export function cutTiles(image: RgbImage, example: Example, settings: ExamplesSettings): Tiles {
  const crop = fitImage(cropImage(image, example.box), settings.tile);
  if (!settings.context) return { crop };
  const context = fitImage(image, settings.tile);
  const [left, top, w] = fitRect(image.width, image.height, settings.tile);
  const scale = w / image.width;
  const [x0, y0, x1, y1] = example.box;
  const rect: [number, number, number, number] = [
    left + Math.floor(x0 * scale),
    top + Math.floor(y0 * scale),
    Math.max(3, Math.ceil((x1 - x0) * scale)),
    Math.max(3, Math.ceil((y1 - y0) * scale)),
  ];
  outlineRect(pixels(context), rect, OUTLINE, settings.tile >= 64 ? 2 : 1);
  return { crop, context };
}

/**
 * Every example's tiles, each image decoded once (two at a time). An image that no longer
 * reads, or reads other than it was scored, fails the run: its examples cannot be drawn.
 */
export async function tilesFromImages(
  examples: Example[][],
  settings: ExamplesSettings,
  sources: Record<string, SourceImage>,
): Promise<Map<string, Tiles>> {
  const byImage = new Map<string, Example[]>();
  for (const example of examples.flat()) byImage.set(example.image, [...(byImage.get(example.image) ?? []), example]);
  const tiles = new Map<string, Tiles>();
  const images = [...byImage.keys()].sort();
  const work = async (path: string) => {
    let decoded: { image: RgbImage; identity: FileIdentity };
    try {
      decoded = await timed('decode+resize', () => decodeImageFile(path));
    } catch (err) {
      throw runtimeError(`cannot read ${path} again to cut its examples: ${messageOf(err)}`);
    }
    if (decoded.identity.sha256 !== sources[path]?.sha256)
      throw runtimeError(
        `'${path}' changed while its examples were found; run the same command again to score it anew`,
      );
    timedSync('crops', () =>
      byImage.get(path)!.forEach((e) => tiles.set(tileKey(e), cutTiles(decoded.image, e, settings))),
    );
  };
  for (let i = 0; i < images.length; i += 2) await Promise.all(images.slice(i, i + 2).map(work));
  return tiles;
}

/** A shard's tiles as PNG files beside its state, for the merge; returns their bytes. */
export async function saveTiles(folder: string, tiles: Map<string, Tiles>): Promise<number> {
  const sources = join(folder, SOURCES_FOLDER);
  let bytes = 0;
  try {
    await mkdir(sources, { recursive: true });
    for (const [key, { crop, context }] of tiles) {
      bytes += await writePng(outputPath(sources, `${key}.png`), pixels(crop));
      if (context) bytes += await writePng(outputPath(sources, `${key}-context.png`), pixels(context));
    }
    return bytes;
  } catch (err) {
    throw runtimeError(`cannot write the examples' tiles in '${sources}': ${fileSystemReason(err)}`);
  }
}

/** The tiles a shard saved, for the examples it found. */
export async function loadTiles(
  folder: string,
  examples: Example[],
  settings: ExamplesSettings,
): Promise<Map<string, Tiles>> {
  const tiles = new Map<string, Tiles>();
  for (const example of examples) {
    const key = tileKey(example);
    if (tiles.has(key)) continue;
    const read = async (name: string) => {
      let tile: RgbImage;
      try {
        tile = await decodeImage(join(folder, SOURCES_FOLDER, name));
      } catch (err) {
        throw runtimeError(
          `the shard in '${folder}' lacks the tile of ${example.image} (${messageOf(err)}); run that shard again`,
        );
      }
      if (tile.width !== settings.tile || tile.height !== settings.tile)
        throw usageError(
          `the shard in '${folder}' has a tile of ${tile.width}x${tile.height} pixels for ${example.image}, not the run's ${settings.tile}x${settings.tile}; run that shard again`,
        );
      return tile;
    };
    tiles.set(key, {
      crop: await read(`${key}.png`),
      ...(settings.context ? { context: await read(`${key}-context.png`) } : {}),
    });
  }
  return tiles;
}

/** channel-007.png: at least three digits, more for wider layers, so names sort. */
export const channelFile = (channel: number, channels: number[]): string =>
  `channel-${String(channel).padStart(Math.max(3, String(Math.max(...channels)).length), '0')}.png`;

/** What examples.json holds: the spec's shape, examples strongest first. */
export function examplesJson(settings: ExamplesSettings, scored: number, examples: Example[][]): string {
  const json = {
    model: settings.model,
    layer: settings.layer,
    score: settings.score,
    images: scored,
    channels: settings.channels.map((channel, k) => ({
      channel,
      examples: examples[k].map(({ image, score, y, x, box }) => ({ image, score, y, x, box })),
    })),
  };
  return `${JSON.stringify(json, null, 2)}\n`;
}

/** The pictures and JSON of a finished run (or a merge), in `folder`. */
export async function drawExamples(
  folder: string,
  settings: ExamplesSettings,
  scored: number,
  examples: Example[][],
  tiles: Map<string, Tiles>,
): Promise<WrittenFile[]> {
  const { channels, tile, layer } = settings;
  // As many columns as the longest list, not as --top asked: memory follows the work.
  const top = Math.max(1, Math.min(settings.top, Math.max(...examples.map((list) => list.length))));
  const tilesOf = (k: number) => examples[k].map((e) => tiles.get(tileKey(e))!);
  const written: WrittenFile[] = [];
  const write = async (name: string, picture: PixelImage, shows: string) => {
    const path = outputPath(folder, name);
    const bytes = await timed('encode+write', () => writePng(path, picture));
    written.push({ path, bytes, shows });
  };
  // A few pictures encode at once (on sharp's threads) while the next are composed.
  const pending = new Set<Promise<void>>();
  try {
    for (let k = 0; k < channels.length; k++) {
      const own = tilesOf(k);
      const picture = timedSync('mosaic', () =>
        channelPicture(
          own.map((t) => pixels(t.crop)),
          settings.context ? own.map((t) => pixels(t.context!)) : undefined,
          top,
          tile,
        ),
      );
      const writing = write(
        channelFile(channels[k], channels),
        picture,
        `${layer} channel ${channels[k]}: its ${own.length} strongest examples${settings.context ? ', the images beneath' : ''}`,
      );
      pending.add(writing);
      void writing.then(
        () => pending.delete(writing),
        () => undefined,
      );
      if (pending.size >= 4) await Promise.race(pending);
    }
    await Promise.all(pending);
  } catch (err) {
    await Promise.allSettled(pending); // no write left running when the error ends the run
    throw err;
  }
  // Listed in channel order, however the writes finished.
  written.sort((a, b) => (a.path < b.path ? -1 : 1));
  const small = Math.min(tile, OVERVIEW_TILE);
  const overview = timedSync('mosaic', () =>
    overviewPicture(
      channels.map((channel, k) => ({
        channel,
        crops: tilesOf(k).map((t) => pixels(small === tile ? t.crop : fitImage(t.crop, small))),
      })),
      top,
      small,
    ),
  );
  await write(
    'overview.png',
    overview,
    `${layer}: ${channels.length} channels, a row each, ${top} examples from ${scored} image${scored === 1 ? '' : 's'}`,
  );
  const json = new TextEncoder().encode(examplesJson(settings, scored, examples));
  const jsonPath = outputPath(folder, 'examples.json');
  await writeFileAtomic(jsonPath, json);
  written.push({
    path: jsonPath,
    bytes: json.length,
    shows: `${layer}: each channel's examples, scores, positions and boxes`,
  });
  return written;
}
