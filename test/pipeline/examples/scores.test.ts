/**
 * Scoring and the running top-k: scores and peaks worked by hand on a tiny activation, ties
 * broken by image path, and any split of the images merging to the lists of one pass.
 */
import { channelScores, mergeTop, offer, type Example } from '../../../src/pipeline/examples/scores.js';

// A 2x3 map with 2 channels, channels last: channel 0 is 0..5 in row order, channel 1 peaks twice (7 at (0,1) and (1,2)).
const activation = Float32Array.from([0, 1, 1, 7, 2, 3, 3, 0, 4, 2, 5, 7]);

test('max: the largest value and the first position holding it, in row order', () => {
  expect(channelScores(activation, [2, 3, 2], [0, 1], 'max')).toEqual([
    { score: 5, y: 1, x: 2 },
    { score: 7, y: 0, x: 1 },
  ]);
});

test('mean: the map mean, the position still its peak', () => {
  expect(channelScores(activation, [2, 3, 2], [1], 'mean')).toEqual([
    { score: (1 + 7 + 3 + 0 + 2 + 7) / 6, y: 0, x: 1 },
  ]);
});

const example = (image: string, score: number): Example => ({ image, score, y: 0, x: 0, box: [0, 0, 1, 1] });

test('the list keeps the strongest, ties in image path order, NaN never', () => {
  const list: Example[] = [];
  for (const [image, score] of [
    ['c', 1],
    ['b', 3],
    ['a', 1],
    ['d', 2],
    ['e', NaN],
    ['f', 0.5],
  ] as const)
    offer(list, example(image, score), 3);
  expect(list.map((e) => e.image)).toEqual(['b', 'd', 'a']);
});

test('merging the lists of any split equals one pass over all images', () => {
  let seed = 7;
  const random = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  // Scores from a few values, so that ties are common.
  const all = Array.from({ length: 200 }, (_, i) =>
    example(`img-${String(i).padStart(3, '0')}.png`, Math.floor(random() * 20)),
  );
  const one: Example[] = [];
  all.forEach((e) => offer(one, e, 9));
  for (const parts of [2, 3, 7]) {
    const lists = Array.from({ length: parts }, (_, p) => {
      const list: Example[] = [];
      all.filter((_, i) => Math.floor((i * parts) / all.length) === p).forEach((e) => offer(list, e, 9));
      return list;
    });
    expect(mergeTop(lists.reverse(), 9)).toEqual(one);
  }
});
