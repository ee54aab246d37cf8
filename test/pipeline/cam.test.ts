/**
 * `cnnviz cam` on the trained tiny-vgg (fixtures' copy): the top 5 are tfjs-layers' own
 * probabilities, ranked; the Grad-CAM map equals one computed here with TensorFlow.js' tf.grad
 * on the layers model (logits at relu_2_2, channel weights the gradient's spatial means, ReLU,
 * scaled to its maximum); bad input is one line, exit 2.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { decodeImage } from '../../src/image/decode.js';
import { preprocessUnit } from '../../src/image/preprocess.js';
import { resizeNearest } from '../../src/image/resize.js';
import { cnnviz, readPng } from '../helpers/cli.js';
import { maxAbsDiff } from '../helpers/compare.js';
import { parseNpy } from '../helpers/npy.js';
import { FIXTURES } from '../helpers/paths.js';
import { GraphModelWriter } from '../helpers/graph-model.js';
import { loadLayersModelFile } from '../helpers/model-files.js';

const MODEL = join(FIXTURES, 'models', 'tiny-vgg', 'model.json');
const IMAGE = join(FIXTURES, 'onnx', 'cat64.png');
const CLASSES = [
  'lifeboat',
  'ladybug',
  'pizza',
  'bell pepper',
  'school bus',
  'koala',
  'espresso',
  'red panda',
  'orange',
  'sport car',
];
const dir = mkdtempSync(join(tmpdir(), 'cnnviz-cam-'));
const labels = join(dir, 'classes.txt');
writeFileSync(labels, `${CLASSES.join('\n')}\n`);

/** Each method as pytorch-grad-cam computes it, here in tfjs ops on maps A and gradients G of (1, h, w, c). */
function oracleCam(method: string, a: tf.Tensor4D, g: tf.Tensor4D): Float32Array {
  const eps = 1e-7;
  const weighted = (w: tf.Tensor) => tf.relu(tf.sum(tf.mul(a, tf.reshape(w, [1, 1, 1, -1])), 3));
  const byMethod: Record<string, () => tf.Tensor> = {
    gradcam: () => weighted(tf.mean(g, [1, 2])),
    hirescam: () => tf.relu(tf.sum(tf.mul(a, g), 3)),
    layercam: () => tf.relu(tf.sum(tf.mul(a, tf.relu(g)), 3)),
    xgradcam: () => weighted(tf.div(tf.sum(tf.mul(g, a), [1, 2]), tf.add(tf.sum(a, [1, 2]), eps))),
    'gradcam++': () => {
      const g2 = tf.square(g);
      const g3 = tf.mul(g2, g);
      const sumA = tf.reshape(tf.sum(a, [1, 2]), [1, 1, 1, -1]);
      const alpha = tf.where(
        tf.notEqual(g, 0),
        tf.div(g2, tf.add(tf.add(tf.mul(g2, 2), tf.mul(sumA, g3)), eps)),
        tf.zerosLike(g),
      );
      return weighted(tf.sum(tf.mul(tf.relu(g), alpha), [1, 2]));
    },
  };
  const cam = byMethod[method]();
  const shifted = tf.sub(cam, tf.min(cam));
  return tf.div(shifted, tf.add(tf.max(shifted), eps)).dataSync() as Float32Array;
}

test("the prediction equals tfjs-layers' and each method's map equals it computed with tf.grad", async () => {
  await tf.setBackend('cpu');
  const model = await loadLayersModelFile(MODEL);
  const x = tf.tensor4d(preprocessUnit(resizeNearest(await decodeImage(IMAGE), 64, 64).data), [1, 64, 64, 3]);
  const probabilities = Array.from((model.predict(x) as tf.Tensor).dataSync());
  const ranked = probabilities
    .map((p, i) => [i, p] as const)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 5);
  // The koala logit (5) differentiated at relu_2_2's maps.
  const layers = model.layers;
  const head = layers.slice(
    layers.findIndex((l) => l.name === 'relu_2_2') + 1,
    layers.findIndex((l) => l.name === 'output'),
  );
  const [kernel, bias] = model.getLayer('output').getWeights();
  const logit = (maps: tf.Tensor) => {
    const features = head.reduce((t, l) => l.apply(t) as tf.Tensor, maps) as tf.Tensor2D;
    return tf.sum(tf.slice(tf.add(tf.matMul(features, kernel as tf.Tensor2D), bias), [0, 5], [1, 1]));
  };
  const probe = tfl.model({ inputs: model.inputs, outputs: model.getLayer('relu_2_2').output as tfl.SymbolicTensor });
  const maps = probe.predict(x) as tf.Tensor4D;
  const grads = tf.grad(logit)(maps) as tf.Tensor4D;

  for (const method of ['gradcam', 'gradcam++', 'hirescam', 'xgradcam', 'layercam']) {
    const out = join(dir, `out-${method}`);
    const { code, stdout, stderr } = await cnnviz([
      'cam',
      IMAGE,
      '--model',
      MODEL,
      '--labels',
      labels,
      '--class',
      'koala',
      '--method',
      method,
      '--save-npy',
      '-o',
      out,
    ]);
    expect([method, code]).toEqual([method, 0]);
    expect(stderr).toContain('differentiated at its input, the logits');
    expect(stdout.split('\n')[0]).toBe(
      `${IMAGE}: ${ranked.map(([i, p]) => `${i} ${CLASSES[i]} ${(100 * p).toFixed(1)}%`).join(', ')}`,
    );
    const ours = parseNpy(readFileSync(join(out, `cat64-cam-${method.replace('++', 'pp')}.npy`)));
    expect(ours.shape).toEqual([26, 26]);
    expect([method, maxAbsDiff(ours.data, oracleCam(method, maps, grads)) < 1e-4]).toEqual([method, true]);
    // The overlay is the image's own size.
    const png = readPng(join(out, `cat64-cam-${method.replace('++', 'pp')}.png`));
    expect([png.width, png.height]).toEqual([64, 64]);
  }
});

describe('bad input: one line, exit 2, no file', () => {
  test.each([
    ['--class past the classes', ['--class', '10'], /--class 10: no such label, nor a class index from 0 to 9/],
    [
      'an unknown class name',
      ['--class', 'tabby cat'],
      /--class tabby cat: no such label, nor a class index from 0 to 9/,
    ],
    ['a layer after the head', ['--layer', 'flatten'], /layer 'flatten' \(Flatten\) is not a spatial layer/],
  ])('%s', async (_name, args, message) => {
    const out = join(dir, `bad-${Math.random().toString(16).slice(2)}`);
    const { code, stderr } = await cnnviz(['cam', IMAGE, '--model', MODEL, '--labels', labels, ...args, '-o', out]);
    expect(
      stderr
        .trim()
        .split('\n')
        .filter((l) => !l.includes('softmax')),
    ).toHaveLength(1);
    expect(stderr).toMatch(message);
    expect(code).toBe(2);
    // Refused before the output folder is made.
    expect(existsSync(out)).toBe(false);
  });

  test('a model without a class output points to examples', async () => {
    const g = new GraphModelWriter('input', [16, 16, 3]);
    g.node('relu', 'Relu', ['input']);
    const path = g.write(join(dir, 'no-head'));
    const { code, stderr } = await cnnviz(['cam', IMAGE, '--model', path, '-o', join(dir, 'none')]);
    expect(stderr).toBe(
      "cnnviz: no-head has no class output (its last layer gives [null,16,16,3]); 'cnnviz examples' shows what its channels respond to\n",
    );
    expect(code).toBe(2);
  });
});

test("Score-CAM, Ablation-CAM and Eigen-CAM equal the papers' formulas computed here in TensorFlow.js", async () => {
  await tf.setBackend('cpu');
  const model = await loadLayersModelFile(MODEL);
  const x = tf.tensor4d(preprocessUnit(resizeNearest(await decodeImage(IMAGE), 64, 64).data), [1, 64, 64, 3]);
  const layers = model.layers;
  const cut = layers.findIndex((l) => l.name === 'relu_2_2') + 1;
  const [kernel, bias] = model.getLayer('output').getWeights();
  // The logits from relu_2_2's maps on: the head's layers, then the output layer before its softmax.
  const logitsFrom = (maps: tf.Tensor) => {
    const features = layers.slice(cut, -1).reduce((t, l) => l.apply(t) as tf.Tensor, maps) as tf.Tensor2D;
    return tf.add(tf.matMul(features, kernel as tf.Tensor2D), bias);
  };
  const probe = tfl.model({ inputs: model.inputs, outputs: model.getLayer('relu_2_2').output as tfl.SymbolicTensor });
  const mapsOf = (input: tf.Tensor) => probe.predict(input) as tf.Tensor4D;
  const maps = mapsOf(x);
  const [, h, w, c] = maps.shape;
  const target = 5;
  const score = (m: tf.Tensor) => logitsFrom(m).dataSync()[target];
  const camOf = (weights: number[]) => {
    const cam = tf.relu(tf.sum(tf.mul(maps, tf.tensor1d(weights)), 3));
    const shifted = tf.sub(cam, tf.min(cam));
    return tf.div(shifted, tf.add(tf.max(shifted), 1e-7)).dataSync() as Float32Array;
  };
  // Score-CAM: each channel's map enlarged with aligned corners, scaled to [0, 1], times the input.
  const scores: number[] = [];
  for (let k = 0; k < c; k++) {
    const plane = tf.slice(maps, [0, 0, 0, k], [1, h, w, 1]);
    const up = tf.image.resizeBilinear(plane, [64, 64], true);
    const mask = tf.div(tf.sub(up, tf.min(up)), tf.add(tf.sub(tf.max(up), tf.min(up)), 1e-8));
    scores.push(score(mapsOf(tf.mul(x, mask))));
  }
  const scoreWeights = Array.from(tf.softmax(tf.tensor1d(scores)).dataSync());
  // Ablation-CAM: relu_2_2 is ReLU'd (its minimum 0), so a channel taken out is zeros.
  expect(tf.min(maps).dataSync()[0]).toBe(0);
  const base = score(maps);
  const ablationWeights = Array.from({ length: c }, (_, k) => {
    const keep = tf.tensor1d(Array.from({ length: c }, (_, j) => (j === k ? 0 : 1)));
    return (base - score(tf.mul(maps, keep))) / base;
  });
  // Eigen-CAM: the centred maps on their first principal component, found by power iteration here.
  const rows = tf.reshape(maps, [h * w, c]);
  const centred = tf.sub(rows, tf.mean(rows, 0));
  const covariance = tf.matMul(centred, centred, true, false);
  let v: tf.Tensor = tf.ones([c, 1]);
  for (let i = 0; i < 3000; i++) v = tf.div(tf.matMul(covariance, v), tf.norm(tf.matMul(covariance, v)));
  if (tf.sum(v).dataSync()[0] < 0) v = tf.neg(v);
  const projection = tf.relu(tf.reshape(tf.matMul(centred, v), [h * w]));
  const shifted = tf.sub(projection, tf.min(projection));
  const eigen = tf.div(shifted, tf.add(tf.max(shifted), 1e-7)).dataSync() as Float32Array;

  const oracles: Record<string, Float32Array> = {
    scorecam: camOf(scoreWeights),
    ablationcam: camOf(ablationWeights),
    eigencam: eigen,
  };
  for (const method of Object.keys(oracles)) {
    const out = join(dir, `forward-${method}`);
    const args = ['cam', IMAGE, '--model', MODEL, '--method', method, '--save-npy', '-o', out];
    const { code, stderr } = await cnnviz([...args, ...(method === 'eigencam' ? [] : ['--class', String(target)])]);
    expect([method, code, stderr]).toEqual([method, 0, expect.stringContaining('softmax')]);
    const ours = parseNpy(readFileSync(join(out, `cat64-cam-${method}.npy`)));
    expect([method, maxAbsDiff(ours.data, oracles[method]) < 1e-4]).toEqual([method, true]);
  }
  // Weights that differ between channels: a map that is not a copy of another method's.
  expect(maxAbsDiff(oracles.scorecam, oracles.ablationcam)).toBeGreaterThan(0.01);
});

test('seeded random weights are said, as every picture of an untrained network says it', async () => {
  const { code, stderr } = await cnnviz([
    'cam',
    IMAGE,
    '--model',
    MODEL,
    '--weights',
    'none',
    '-o',
    join(dir, 'random'),
  ]);
  expect(code).toBe(0);
  expect(stderr).toMatch(
    /^cnnviz: weights: none \(random initial weights, seed \d+\); the picture shows an untrained network$/m,
  );
});

test('the gradient model is prepared once: a second run takes it from the cache and draws the same bytes', async () => {
  const cache = mkdtempSync(join(tmpdir(), 'cnnviz-cam-cache-'));
  const run = (out: string) =>
    cnnviz(['--verbose', 'cam', IMAGE, '--model', MODEL, '--method', 'layercam', '-o', join(dir, out)], {
      CNNVIZ_CACHE: cache,
    });
  const first = await run('cold');
  const second = await run('warm');
  expect([first.code, second.code]).toEqual([0, 0]);
  expect(first.stderr).not.toContain('ONNX model from the cache');
  expect(second.stderr).toMatch(/ONNX model from the cache: .*model\.onnx/);
  // Said on the warm run too, though nothing is built: the notes come with the cached model.
  expect(second.stderr).toContain('ends in a softmax');
  expect(readFileSync(join(dir, 'warm', 'cat64-cam-layercam.png'))).toEqual(
    readFileSync(join(dir, 'cold', 'cat64-cam-layercam.png')),
  );
});
