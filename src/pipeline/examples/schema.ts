/**
 * What a state.json and an examples.json must be before anything in them is used: they are
 * input (another machine's shard, a file someone edited), not truth. Every number is checked
 * for its kind and range, every example against the layer's map and its image's size, and the
 * parts against each other (a slice that is the shard's, counts that add up, lists in order).
 */
import { z } from 'zod';
import { compareExamples, type Example } from './scores.js';
import { TILE_RANGE } from '../../render/examples.js';
import { schemaProblem } from '../../schema.js';

/** More images, shards or channels than any run has: a number past these is damage. */
const MAX_COUNT = 1e9;
const MAX_SIDE = 65536;

const count = z.number().int().min(0).max(MAX_COUNT);
const side = z.number().int().min(1).max(MAX_SIDE);
const text = z.string().max(10000);

export const settingsSchema = z.object({
  model: text,
  weights: text,
  layer: text.min(1),
  score: z.enum(['max', 'mean']),
  top: z.number().int().min(1).max(MAX_COUNT),
  channels: z.array(count).min(1),
  map: z.tuple([side, side, side]),
  input: z.tuple([side, side]),
  preprocessing: text,
  resize: z.enum(['nearest', 'bilinear', 'area']),
  tile: z.number().int().min(TILE_RANGE[0]).max(TILE_RANGE[1]),
  context: z.boolean(),
});

const exampleSchema = z.object({
  image: text.min(1),
  score: z.number(),
  y: count,
  x: count,
  box: z.tuple([count, count, count, count]),
});

const stateSchema = z.object({
  version: z.literal(2),
  settings: settingsSchema,
  list: z.object({ digest: z.string().regex(/^[0-9a-f]{64}$/), count }),
  shard: z.object({ index: count, count: count.min(1) }).nullable(),
  slice: z.tuple([count, count]),
  done: count,
  scored: count,
  failed: z.array(z.string()),
  complete: z.boolean(),
  examples: z.array(z.array(exampleSchema)),
  stamps: z.array(z.tuple([z.number().int().min(-1), z.number()])),
  sources: z.record(text, z.object({ width: side, height: side, sha256: z.string().regex(/^[0-9a-f]{64}$/) })),
});

export type ExamplesSettings = z.infer<typeof settingsSchema>;
export type StateFile = z.infer<typeof stateSchema>;

/** Shard i of n: a contiguous part of a list of `count`, the parts as even as they can be. */
export function shardSlice(count: number, shard: { index: number; count: number } | null): [number, number] {
  if (!shard) return [0, count];
  return [Math.floor((shard.index * count) / shard.count), Math.floor(((shard.index + 1) * count) / shard.count)];
}

/** What is wrong with a channel's examples, or undefined: each on the layer's map, in its image, in order. */
function examplesProblem(list: Example[], state: StateFile): string | undefined {
  const [h, w] = state.settings.map;
  for (const [i, e] of list.entries()) {
    if (!Number.isFinite(e.score)) return `[${i}].score: ${e.score} is not a finite number`;
    if (e.y >= h || e.x >= w) return `[${i}]: position (${e.y}, ${e.x}) is outside the layer's ${h}x${w} map`;
    const source = state.sources[e.image];
    if (!source) return `[${i}]: image '${e.image}' has no recorded size`;
    const [x0, y0, x1, y1] = e.box;
    if (!(x0 < x1 && y0 < y1 && x1 <= source.width && y1 <= source.height))
      return `[${i}].box: [${e.box.join(', ')}] is not a box inside its ${source.width}x${source.height} image`;
    if (i > 0 && compareExamples(list[i - 1], e) > 0) return `[${i}]: out of order (strongest first)`;
  }
  return undefined;
}

/** The parts of a state that must agree with each other. */
function consistencyProblem(s: StateFile): string | undefined {
  const { settings } = s;
  const channels = settings.channels;
  if (channels.some((c, i) => c >= settings.map[2] || (i > 0 && c <= channels[i - 1])))
    return `settings.channels: not distinct ascending channels of a layer of ${settings.map[2]}`;
  if (s.shard && s.shard.index >= s.shard.count) return `shard: index ${s.shard.index} of ${s.shard.count} shards`;
  const [start, end] = shardSlice(s.list.count, s.shard);
  if (s.slice[0] !== start || s.slice[1] !== end)
    return `slice: [${s.slice.join(', ')}] is not the shard's part of ${s.list.count} images ([${start}, ${end}])`;
  const total = end - start;
  if (s.done > total) return `done: ${s.done} of ${total} images`;
  if (s.complete && s.done !== total) return `complete, but done is ${s.done} of ${total}`;
  if (s.scored > s.done) return `scored: ${s.scored} of ${s.done} done`;
  if (s.failed.length !== s.done - s.scored) return `failed: ${s.failed.length} listed, ${s.done - s.scored} expected`;
  if (s.stamps.length !== s.done) return `stamps: ${s.stamps.length} for ${s.done} images`;
  if (s.examples.length !== channels.length)
    return `examples: ${s.examples.length} lists for ${channels.length} channels`;
  const most = Math.min(settings.top, s.scored);
  for (const [k, list] of s.examples.entries()) {
    if (list.length > most)
      return `examples[${k}]: ${list.length} examples, at most ${most} (top ${settings.top}, ${s.scored} images scored)`;
    const problem = examplesProblem(list, s);
    if (problem) return `examples[${k}]${problem}`;
  }
  return undefined;
}

/** A state file's JSON checked whole; the first problem in words when it is not one. */
export function parseStateFile(json: unknown): { state: StateFile } | { problem: string } {
  const parsed = stateSchema.safeParse(json);
  if (!parsed.success) {
    const version = (json as { version?: unknown } | null)?.version;
    if (typeof version === 'number' && version !== 2)
      return { problem: `it was made by another version of cnnviz (state version ${version})` };
    return { problem: schemaProblem(parsed.error) };
  }
  const problem = consistencyProblem(parsed.data);
  return problem ? { problem } : { state: parsed.data };
}

const examplesFileSchema = z.object({
  model: text,
  layer: text.min(1),
  score: z.enum(['max', 'mean']),
  images: count,
  channels: z.array(
    z.object({
      channel: count,
      examples: z.array(
        z.object({
          image: text,
          score: z.number().nullable(),
          y: count,
          x: count,
          box: z.tuple([count, count, count, count]),
        }),
      ),
    }),
  ),
});

export type ExamplesFile = z.infer<typeof examplesFileSchema>;

/** An examples.json checked: channels are distinct counts, text is text, scores numbers (null where not finite). */
export function parseExamplesFile(json: unknown): { file: ExamplesFile } | { problem: string } {
  const parsed = examplesFileSchema.safeParse(json);
  if (!parsed.success) return { problem: schemaProblem(parsed.error) };
  const channels = parsed.data.channels.map((c) => c.channel);
  if (new Set(channels).size !== channels.length) return { problem: 'channels: a channel is listed twice' };
  return { file: parsed.data };
}
