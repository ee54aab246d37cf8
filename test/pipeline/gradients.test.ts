/**
 * cnnviz's gradients against PyTorch autograd: the torchvision-style exports in fixtures/onnx,
 * with the gradients PyTorch computed for cat64.png recorded by make_fixtures.py (the top class's
 * logit at the input and at the last stage; guided backpropagation through ResNet's ReLUs). Each
 * equals PyTorch's within 1e-4 of its largest value; then `cnnviz cam` and `saliency` end to end
 * on the ResNet.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toChannelsLast } from '../../src/image/layout.js';
import type { MapShape } from '../../src/net/net.js';
import { modelInput, openClassifier, oneHot } from '../../src/pipeline/classifier.js';
import { openDifferentiator } from '../../src/pipeline/gradients.js';
import { cnnviz, readPng } from '../helpers/cli.js';
import { maxAbsDiff } from '../helpers/compare.js';
import { parseNpy } from '../helpers/npy.js';
import { FIXTURES } from '../helpers/paths.js';

const ONNX = join(FIXTURES, 'onnx');
const CAT64 = join(ONNX, 'cat64.png');
const dir = mkdtempSync(join(tmpdir(), 'cnnviz-gradients-'));

/** A recorded (C, H, W) array, channels-last as cnnviz gives it. */
function recorded(name: string): { data: Float32Array; shape: MapShape } {
  const npy = parseNpy(readFileSync(join(ONNX, 'expected', `${name}.npy`)));
  const [c, h, w] = npy.shape;
  return { data: toChannelsLast(npy.data, [h, w, c]), shape: [h, w, c] };
}

function expectClose(ours: Float32Array, reference: Float32Array): void {
  const scale = Math.max(...reference.map(Math.abs));
  expect(scale).toBeGreaterThan(0);
  expect(maxAbsDiff(ours, reference) / scale).toBeLessThan(1e-4);
}

const notice = () => undefined;

describe.each([
  ['tiny_resnet', '/layer4/layer4.0/relu_1/Relu', 'layer4'],
  ['tiny_mobilenet', '/features/features.18/features.18.2/Clip', 'features.18'],
])('%s', (name, layer, module) => {
  const autograd = JSON.parse(readFileSync(join(ONNX, 'expected', `${name}-autograd.json`), 'utf8'));

  test(`the logits, and the top class's gradient at the input and at ${module}, equal PyTorch autograd's`, async () => {
    const classifier = await openClassifier({ model: join(ONNX, `${name}.onnx`), preprocess: 'torch' });
    const stage = recorded(`${name}-grad-${module}`);
    const d = await openDifferentiator(
      classifier,
      { layers: [{ name: layer, map: stage.shape }], input: true },
      { weights: 'imagenet' },
      { notice },
    );
    const { nhwc } = await modelInput(CAT64, classifier, 'nearest');
    const [result] = await d.run([nhwc], [oneHot(autograd.class, classifier.classes)]);
    await d.release();
    expect(maxAbsDiff(result.target, Float32Array.from(autograd.logits))).toBeLessThan(1e-5);
    expectClose(result.gradients[0], stage.data);
    expectClose(result.gradients[1], recorded(`${name}-grad-input`).data);
  });
});

test("guided backpropagation through tiny_resnet's ReLUs equals PyTorch's backward hooks", async () => {
  const autograd = JSON.parse(readFileSync(join(ONNX, 'expected', 'tiny_resnet-autograd.json'), 'utf8'));
  const classifier = await openClassifier({ model: join(ONNX, 'tiny_resnet.onnx'), preprocess: 'torch' });
  const d = await openDifferentiator(
    classifier,
    { layers: [], input: true, relu: 'guided' },
    { weights: 'imagenet' },
    { notice },
  );
  const { nhwc } = await modelInput(CAT64, classifier, 'nearest');
  const [result] = await d.run([nhwc], [oneHot(autograd.class, classifier.classes)]);
  await d.release();
  const guided = recorded('tiny_resnet-guided-input').data;
  expectClose(result.gradients[0], guided);
  expect(maxAbsDiff(guided, recorded('tiny_resnet-grad-input').data)).toBeGreaterThan(0.01 * Math.max(...guided));
});

test('cam and saliency on the ResNet exported from PyTorch: the top 5, the overlay, the raw gradient', async () => {
  const autograd = JSON.parse(readFileSync(join(ONNX, 'expected', 'tiny_resnet-autograd.json'), 'utf8'));
  const model = join(ONNX, 'tiny_resnet.onnx');
  const cam = await cnnviz(['cam', CAT64, '--model', model, '--preprocess', 'torch', '-o', dir]);
  expect(cam.code).toBe(0);
  // The top class first, with PyTorch's probability (softmax of its logits).
  const logits: number[] = autograd.logits;
  const exps = logits.map((v) => Math.exp(v - Math.max(...logits)));
  const top = (100 * exps[autograd.class]) / exps.reduce((a, b) => a + b, 0);
  expect(cam.stdout.split('\n')[0]).toMatch(
    new RegExp(`^${CAT64}: ${autograd.class} ${top.toFixed(1)}%, (\\d+ \\d+\\.\\d%, ){3}\\d+ \\d+\\.\\d%$`),
  );
  expect(readPng(join(dir, 'cat64-cam-gradcam.png')).width).toBe(64);

  const saliency = await cnnviz([
    'saliency',
    CAT64,
    '--model',
    model,
    '--preprocess',
    'torch',
    '--save-npy',
    '-o',
    dir,
  ]);
  expect(saliency.code).toBe(0);
  const ours = parseNpy(readFileSync(join(dir, 'cat64-saliency-gradient.npy')));
  expect(ours.shape).toEqual([64, 64, 3]);
  expectClose(ours.data, recorded('tiny_resnet-grad-input').data);
});
