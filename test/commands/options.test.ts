/**
 * The option parsers, each value in-process (the command line's wiring of one of them is
 * checked end to end in cli.test.ts: one line, exit 2): what each takes, and the message naming
 * what it got.
 */
import { InvalidArgumentError } from 'commander';
import {
  choice,
  countOrAll,
  imageSize,
  intInRange,
  nonNegativeInt,
  positiveInt,
  unitInterval,
} from '../../src/commands/options.js';

const refuses = (parse: (v: string) => unknown, value: string, message: string) => {
  expect(() => parse(value)).toThrow(InvalidArgumentError);
  expect(() => parse(value)).toThrow(message);
};

test('positiveInt and countOrAll: whole numbers of 1 or more; all is every map', () => {
  expect([positiveInt('1'), positiveInt(' 64 '), countOrAll('all'), countOrAll('9')]).toEqual([1, 64, Infinity, 9]);
  for (const bad of ['0', '-3', 'abc', '1.5', '', '1e3', '99999999999999999999'])
    refuses(positiveInt, bad, `expected a whole number of 1 or more, got '${bad}'`);
  refuses(countOrAll, 'ALL', "expected a whole number of 1 or more, got 'ALL'");
});

test('nonNegativeInt takes 0; intInRange its bounds and nothing past them', () => {
  expect([nonNegativeInt('0'), nonNegativeInt('7')]).toEqual([0, 7]);
  refuses(nonNegativeInt, '-1', "expected a whole number of 0 or more, got '-1'");
  const tile = intInRange(8, 1024);
  expect([tile('8'), tile('1024')]).toEqual([8, 1024]);
  for (const bad of ['7', '1025', '100000', 'x'])
    refuses(tile, bad, `expected a whole number from 8 to 1024, got '${bad}'`);
});

test('unitInterval: a number from 0 to 1', () => {
  expect([unitInterval('0'), unitInterval('0.25'), unitInterval('1')]).toEqual([0, 0.25, 1]);
  for (const bad of ['-0.1', '1.01', '', 'half'])
    refuses(unitInterval, bad, `expected a number from 0 to 1, got '${bad}'`);
});

test('imageSize: WxH, or one side for a square', () => {
  expect([imageSize('224x160'), imageSize('64'), imageSize(' 32X32 ')]).toEqual([
    [224, 160],
    [64, 64],
    [32, 32],
  ]);
  for (const bad of ['0x4', '4x', 'x4', '-4x4', 'big'])
    refuses(imageSize, bad, `expected WxH such as 224x224, got '${bad}'`);
});

test('choice names the choices', () => {
  const score = choice(['max', 'mean'] as const);
  expect(score('mean')).toBe('mean');
  refuses(score, 'median', "expected one of max, mean, got 'median'");
});
