/**
 * Dataset examples, the scoring half: how strongly one image excites each channel (the max of
 * its map, or the mean) and where the map peaks, and the running top-k per channel, kept in a
 * fixed order (strongest first, ties by image path) so that any split of the images merges to
 * the same lists.
 */
import type { MapShape } from '../../net/net.js';
import type { Box } from '../../net/receptive.js';

export type ScoreMode = 'max' | 'mean';
export const SCORE_MODES: ScoreMode[] = ['max', 'mean'];

export interface ChannelScore {
  score: number;
  /** The map position of the channel's largest activation (the first, in row order, on ties). */
  y: number;
  x: number;
}

export interface Example extends ChannelScore {
  image: string;
  /** The field of (y, x) in the image's own pixels, clipped: [x0, y0, x1, y1], ends exclusive. */
  box: Box;
}

/** Each chosen channel's score in one channels-last activation. */
export function channelScores(
  activation: Float32Array,
  [h, w, c]: MapShape,
  channels: number[],
  mode: ScoreMode,
): ChannelScore[] {
  const n = channels.length;
  const best = new Float32Array(n).fill(-Infinity);
  const at = new Int32Array(n);
  const sums = new Float64Array(n);
  for (let p = 0; p < h * w; p++) {
    const row = p * c;
    for (let k = 0; k < n; k++) {
      const v = activation[row + channels[k]];
      sums[k] += v;
      if (v > best[k]) {
        best[k] = v;
        at[k] = p;
      }
    }
  }
  return channels.map((_, k) => ({
    score: mode === 'max' ? best[k] : sums[k] / (h * w),
    y: Math.floor(at[k] / w),
    x: at[k] % w,
  }));
}

/** Strongest first; equal scores in image path order (code units, the same on every machine). */
export function compareExamples(a: Example, b: Example): number {
  if (a.score !== b.score) return b.score - a.score;
  return a.image < b.image ? -1 : a.image > b.image ? 1 : 0;
}

/** Puts `example` into a channel's list (sorted, at most `top` long) if it ranks; true when it did. NaN scores never do. */
export function offer(list: Example[], example: Example, top: number): boolean {
  if (Number.isNaN(example.score)) return false;
  if (list.length === top && compareExamples(example, list[top - 1]) >= 0) return false;
  let i = list.length;
  while (i > 0 && compareExamples(example, list[i - 1]) < 0) i--;
  list.splice(i, 0, example);
  if (list.length > top) list.pop();
  return true;
}

/** The top `top` of several lists of one channel: what one list over all their images would hold. */
export function mergeTop(lists: Example[][], top: number): Example[] {
  const merged: Example[] = [];
  for (const list of lists) for (const example of list) offer(merged, example, top);
  return merged;
}
