/** Input sizes a network cannot take are refused before any work, saying what would work. */
import { cnnviz } from '../helpers/cli.js';
import { CAT, TINY_VGG, withTinyVgg } from '../helpers/paths.js';
import { memoryBudget as budgetOf } from '../../src/config.js';

const memoryBudget = (value: string | undefined) => budgetOf({ CNNVIZ_MAX_MEMORY: value });

test('VGG16 at 8x8: block4_pool would be 0x0; five 2x2 pools need 32x32 (exit 2, nothing drawn)', async () => {
  const { code, stdout, stderr } = await cnnviz([
    'featuremaps',
    CAT,
    '--size',
    '8x8',
    '--weights',
    'none',
    '--blocks',
    'all',
    '-o',
    '/nonexistent/never-made',
  ]);
  expect([code, stdout]).toEqual([2, '']);
  expect(stderr).toBe(
    "cnnviz: a 8x8 input is too small for vgg16: the maps of 'block4_pool' would be 0x0; the smallest input that works is 32x32 (--size 32x32)\n",
  );
  expect((await cnnviz(['summary', '--size', '32x32'])).code).toBe(0);
});

withTinyVgg()(
  'tiny-vgg at 4x4 in summary: conv_1_2 would be 0x0, not a negative shape with exit 0; 16x16 is the smallest',
  async () => {
    const { code, stderr } = await cnnviz(['summary', '--model', TINY_VGG, '--size', '4x4']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/the maps of 'conv_1_2' would be 0x0; the smallest input that works is 16x16/);
  },
);

test('the largest activation must fit the memory budget: 100000x100000 is refused, CNNVIZ_MAX_MEMORY sets the budget', async () => {
  const huge = await cnnviz(['summary', '--size', '100000x100000']);
  expect(huge.code).toBe(2);
  // block1_conv1: 100000 * 100000 * 64 channels * 4 bytes = 2.56e12 bytes.
  expect(huge.stderr).toBe(
    'cnnviz: a 100000x100000 input is too large for vgg16: block1_conv1 alone would take 2384.2 GB per image, over the 4.0 GB budget (CNNVIZ_MAX_MEMORY=16GB raises it)\n',
  );
  // At 224x224 block1_conv1 is 224 * 224 * 64 * 4 = 12,845,056 bytes.
  expect((await cnnviz(['summary'], { CNNVIZ_MAX_MEMORY: '12MB' })).code).toBe(2);
  expect((await cnnviz(['summary'], { CNNVIZ_MAX_MEMORY: '13MB' })).code).toBe(0);
});

test('budgets read as people write them', () => {
  expect([
    memoryBudget('8GB'),
    memoryBudget('512 MB'),
    memoryBudget('1.5G'),
    memoryBudget('1000'),
    memoryBudget(undefined),
    memoryBudget(''),
  ]).toEqual([8 * 2 ** 30, 512 * 2 ** 20, 1.5 * 2 ** 30, 1000, 4 * 2 ** 30, 4 * 2 ** 30]);
  expect(() => memoryBudget('lots')).toThrow("CNNVIZ_MAX_MEMORY='lots' is not a size such as 8GB or 512MB");
});
