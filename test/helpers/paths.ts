import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's top folder. */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const FIXTURES = join(ROOT, 'fixtures');
export const CAT = join(FIXTURES, 'cat.jpg');
/** ../shared beside the checkout: read-only data for integration tests, absent in a user's clone. */
export const SHARED = join(ROOT, '..', 'shared');
export const TINY_VGG = join(SHARED, 'models', 'tiny-vgg', 'model.json');

/** `test` when the shared tiny-vgg model is there, else a skip that says why. */
export function withTinyVgg(): jest.It {
  if (existsSync(TINY_VGG)) return test;
  // Under CI ../shared is laid beside the clone: its absence is a failure, not a skip.
  if (process.env.CI === 'true')
    throw new Error(`CI=true and ${TINY_VGG} is absent: the shared tiny-vgg tests must run`);
  console.log(`skipping tiny-vgg tests: ${TINY_VGG} is absent (it lives in ../shared beside the checkout)`);
  return test.skip;
}
