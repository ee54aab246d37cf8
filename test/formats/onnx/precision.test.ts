/**
 * A float16 ONNX model as converters publish them (fixtures/onnx-precision, with numpy's answer for its
 * first ReLU): cnnviz draws every stage, its maps read as float32, equal to numpy's within
 * float16's own precision; the summary counts the float16 weights. A dynamically quantized model
 * (tiny_int8.onnx) has its uint8 weights counted and its quantized ops sized.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openModel } from '../../../src/formats/model.js';
import { toChannelsLast } from '../../../src/image/layout.js';
import { stageEnds } from '../../../src/net/stages.js';
import { cnnviz } from '../../helpers/cli.js';
import { maxAbsDiff } from '../../helpers/compare.js';
import { parseNpy } from '../../helpers/npy.js';
import { FIXTURES } from '../../helpers/paths.js';

const MODEL = join(FIXTURES, 'onnx-precision', 'tiny_fp16.onnx');
const CAT64 = join(FIXTURES, 'onnx', 'cat64.png');

test('a float16 model draws every stage, its maps equal to numpy within float16 precision', async () => {
  const out = mkdtempSync(join(tmpdir(), 'cnnviz-fp16-'));
  const { code, stderr, stdout } = await cnnviz([
    'featuremaps',
    CAT64,
    '--model',
    MODEL,
    '--blocks',
    'all',
    '--preprocess',
    'unit',
    '--save-npy',
    '-o',
    out,
  ]);
  expect([code, stderr]).toEqual([0, '']);
  expect(stdout).toContain('relu1 64x64: 8 of 8 maps');
  expect(stdout).toContain('to_fp32 32x32: 4 of 4 maps');
  const expected = parseNpy(readFileSync(join(FIXTURES, 'onnx-precision', 'expected-relu1.npy')));
  const [c, h, w] = expected.shape;
  const ours = parseNpy(readFileSync(join(out, 'cat64-relu1.npy')));
  expect(ours.shape).toEqual([h, w, c]);
  // float16 keeps 11 significant bits: two units in the last place of the largest value.
  const largest = Math.max(...expected.data);
  expect(maxAbsDiff(ours.data, toChannelsLast(expected.data, [h, w, c]))).toBeLessThanOrEqual(
    2 * 2 ** (Math.floor(Math.log2(largest)) - 10),
  );
});

test('the summary counts float16 weights as parameters', async () => {
  const { code, stdout } = await cnnviz(['summary', '--model', MODEL]);
  expect(code).toBe(0);
  // conv1 8 x 3 x 3 x 3 + 8, conv2 4 x 8 x 3 x 3 + 4
  expect(stdout).toContain(`Total params: ${8 * 27 + 8 + 4 * 72 + 4}`);
});

test('a dynamically quantized model: its uint8 weights counted and said, its quantized ops sized', async () => {
  const { code, stdout } = await cnnviz(['summary', '--model', join(FIXTURES, 'onnx-precision', 'tiny_int8.onnx')]);
  expect(code).toBe(0);
  // ConvInteger's 8 x 3 x 3 x 3 uint8 weights and the float weight scale; not the zero points.
  expect(stdout).toContain('Total params: 217');
  expect(stdout).toContain('Quantized params (int8, uint8): 216');
  expect(stdout).toMatch(/quantize \(DynamicQuantizeLinear\)\s+\(1, 3, 16, 16\)/);
  expect(stdout).toMatch(/conv \(ConvInteger\)\s+\(1, 8, 16, 16\)\s+216/);
  expect(stdout).not.toContain('unknown to cnnviz');
});

test('a quantized convolution is a stage, and its kernel is drawn as w - zero point', async () => {
  const path = join(FIXTURES, 'onnx-precision', 'tiny_int8.onnx');
  const model = await openModel(path, { includeTop: true });
  expect(stageEnds(model.net).map((l) => l.name)).toEqual(['relu']);
  const { kernel } = await model.readKernel('conv', { weights: 'imagenet' });
  const expected = parseNpy(readFileSync(join(FIXTURES, 'onnx-precision', 'expected-kernel-int8.npy')));
  const [out, inputs, kh, kw] = expected.shape;
  expect(kernel.shape).toEqual([kh, kw, inputs, out]);
  for (let o = 0; o < out; o++)
    for (let c = 0; c < inputs; c++)
      for (let y = 0; y < kh; y++)
        for (let x = 0; x < kw; x++)
          expect(kernel.data[((y * kw + x) * inputs + c) * out + o]).toBe(
            expected.data[((o * inputs + c) * kh + y) * kw + x],
          );
});

test('a static QDQ model: its stages end at a QuantizeLinear and a QLinearConv, drawn dequantized, equal to PyTorch with the ONNX formulas', async () => {
  const path = join(FIXTURES, 'onnx-precision', 'tiny_qdq.onnx');
  const model = await openModel(path, { includeTop: true });
  const stages = stageEnds(model.net).map((l) => l.name);
  expect(stages).toEqual(['relu1_q', 'output_dq']);
  const input = parseNpy(readFileSync(join(FIXTURES, 'onnx-precision', 'qdq-input.npy')));
  const [, c, h, w] = input.shape;
  const { forward } = await model.startEngine(['relu1_q', 'conv2'], { engine: 'onnx', weights: 'imagenet' });
  try {
    const [stage1, conv2] = await forward.run(toChannelsLast(input.data, [h, w, c]), [1, h, w, c]);
    for (const [ours, file] of [
      [stage1, 'expected-qdq-stage1.npy'],
      [conv2, 'expected-qdq-stage2.npy'],
    ] as const) {
      const expected = parseNpy(readFileSync(join(FIXTURES, 'onnx-precision', file)));
      const [, ec, eh, ew] = expected.shape;
      // Dequantized values are steps of the scale: equal up to float32 rounding of (q - zp) * s.
      expect([file, maxAbsDiff(ours, toChannelsLast(expected.data, [eh, ew, ec])) < 1e-6]).toEqual([file, true]);
    }
  } finally {
    await forward.dispose();
  }
});
