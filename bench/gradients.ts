/**
 * The gradient engine's numbers (issue 18): torchvision's ResNet-50, ResNet-18 and VGG16 exported
 * by PyTorch (bench/torch_reference.py, which also times PyTorch's own forward plus backward for
 * Grad-CAM on the same weights), run in this process through cnnviz's classifier and
 * differentiator: the forward pass alone (ONNX Runtime on the file), Grad-CAM's forward plus
 * backward (stride-1 input gradients as flipped convolutions, and as ConvTranspose), and
 * SmoothGrad's 25 input gradients in batches. Medians of BENCH_RUNS after a warm-up.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { baseSessionOptions, loadOrt } from '../src/engines/onnx-runtime.js';
import { isSpatial, type MapShape } from '../src/net/net.js';
import { stageEnds } from '../src/net/stages.js';
import { openClassifier, oneHot, type Classifier } from '../src/pipeline/classifier.js';
import { openDifferentiator } from '../src/pipeline/gradients.js';

export interface TorchReference {
  torch: string;
  threads: number;
  ms: Record<string, number>;
}

/** Exports the models once and times PyTorch; undefined (with the reason) where torch is absent. */
export function torchReference(cache: string, runs: number): TorchReference | { absent: string } {
  try {
    const out = execFileSync(
      '/usr/bin/python3',
      [join(import.meta.dirname, '..', '..', 'bench', 'torch_reference.py'), cache, String(runs)],
      {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      },
    );
    return JSON.parse(out.trim().split('\n').pop()!) as TorchReference;
  } catch (err) {
    return {
      absent: `PyTorch (python3-torch, python3-torchvision) not usable here: ${(err as Error).message.split('\n')[0]}`,
    };
  }
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

async function timeRuns(runs: number, work: () => Promise<unknown>): Promise<number> {
  await work();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await work();
    times.push(performance.now() - start);
  }
  return median(times);
}

export interface GradientTimes {
  forwardMs: number;
  gradcamMs: number;
  gradcamTransposeMs: number;
  /** One input gradient (the whole network's backward), and 25 SmoothGrad copies in batches of 8. */
  inputGradientMs: number;
  smoothgrad25Ms: number;
}

/** The last stage (the layer cam weighs by default) with its map shape. */
function lastStage(classifier: Classifier): { name: string; map: MapShape } {
  const { net } = classifier.model;
  const stage = stageEnds(net).at(-1) ?? net.layers.filter(isSpatial).at(-1)!;
  return { name: stage.name, map: stage.mapShape as MapShape };
}

export async function gradientTimes(path: string, runs: number, smoothgrad: boolean): Promise<GradientTimes> {
  const classifier = await openClassifier({ model: path, preprocess: 'torch' });
  const x = Float32Array.from({ length: 224 * 224 * 3 }, (_, i) => Math.sin(i));
  const ort = await loadOrt();
  const session = await ort.InferenceSession.create(path, { ...baseSessionOptions(), graphOptimizationLevel: 'all' });
  const nchw = new ort.Tensor('float32', Float32Array.from(x), [1, 3, 224, 224]);
  const forwardMs = await timeRuns(runs, () => session.run({ [session.inputNames[0]]: nchw }));
  await session.release();
  const notice = () => undefined;
  const seed = oneHot(0, classifier.classes);
  const gradcam = async (convGradient: 'conv' | 'transpose') => {
    const d = await openDifferentiator(
      classifier,
      { layers: [lastStage(classifier)], input: false, convGradient },
      { weights: 'imagenet' },
      { notice },
    );
    const ms = await timeRuns(runs, () => d.run([x], [seed]));
    await d.release();
    return ms;
  };
  const [gradcamMs, gradcamTransposeMs] = [await gradcam('conv'), await gradcam('transpose')];
  let [inputGradientMs, smoothgrad25Ms] = [NaN, NaN];
  if (smoothgrad) {
    const d = await openDifferentiator(
      classifier,
      { layers: [], input: true, batch: 8 },
      { weights: 'imagenet' },
      { notice },
    );
    inputGradientMs = await timeRuns(runs, () => d.run([x], [seed]));
    smoothgrad25Ms = await timeRuns(Math.min(runs, 3), async () => {
      for (let from = 0; from < 25; from += 8) {
        const n = Math.min(8, 25 - from);
        await d.run(Array<Float32Array>(n).fill(x), Array<Float32Array>(n).fill(seed));
      }
    });
    await d.release();
  }
  return { forwardMs, gradcamMs, gradcamTransposeMs, inputGradientMs, smoothgrad25Ms };
}

export const torchModel = (cache: string, name: string): string | undefined => {
  const path = join(cache, `torch-${name}.onnx`);
  return existsSync(path) ? path : undefined;
};
