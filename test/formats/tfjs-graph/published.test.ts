/**
 * Graph models shaped like the ones people publish (issue 20), written as tfjs-converter writes
 * them: a segmenter of free input size with PReLU, shape arithmetic, a resize, a transposed
 * convolution and DepthToSpace; a channels-first detector with a dilated convolution as
 * converted (SpaceToBatchND, BatchToSpaceND) and a head of TopK, ArgMax and NonMaxSuppression;
 * a matting network with recurrent-state inputs and a cond (Switch, Merge) on a bool constant.
 * Each draws every stage, equal to tfjs-converter's own execution within 1e-4, and its summary
 * shows '?' only where the shape follows from the data (NonMaxSuppression and what it feeds).
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { decodeImage } from '../../../src/image/decode.js';
import { preprocessUnit } from '../../../src/image/preprocess.js';
import { resizeNearest } from '../../../src/image/resize.js';
import { openModel } from '../../../src/formats/model.js';
import { stageEnds } from '../../../src/net/stages.js';
import { fileSafe } from '../../../src/output/names.js';
import { cnnviz } from '../../helpers/cli.js';
import { maxAbsDiff, scaleOf } from '../../helpers/compare.js';
import { seededValues } from '../../helpers/keras-h5.js';
import { fusedAttr, GraphModelWriter, intsAttr, loadGraphModelFile, stringAttr } from '../../helpers/graph-model.js';
import { parseNpy } from '../../helpers/npy.js';
import { CAT, FIXTURES } from '../../helpers/paths.js';

const dir = mkdtempSync(join(tmpdir(), 'cnnviz-published-'));
const tmp = (name: string) => mkdtempSync(join(tmpdir(), `cnnviz-published-${name}-`));

let seed = 100;
const weights = (g: GraphModelWriter, name: string, shape: number[]) => {
  const fanIn = shape.length === 4 ? shape[0] * shape[1] * shape[2] : shape[0];
  return g.constant(
    name,
    shape,
    seededValues(
      shape.reduce((a, b) => a * b, 1),
      seed++,
      Math.sqrt(3 / fanIn),
    ),
  );
};
const ints = (g: GraphModelWriter, name: string, shape: number[], values: number[]) =>
  g.constant(name, shape, values, 'int32');
const window = (stride: number, padding: string, format = 'NHWC') => ({
  data_format: stringAttr(format),
  strides: format === 'NHWC' ? intsAttr(1, stride, stride, 1) : intsAttr(1, 1, stride, stride),
  padding: stringAttr(padding),
  dilations: intsAttr(1, 1, 1, 1),
});
const fusedConv = (g: GraphModelWriter, name: string, x: string, shape: number[], stride: number, act?: string) =>
  g.node(name, '_FusedConv2D', [x, weights(g, `${name}/filter`, shape), weights(g, `${name}/bias`, [shape[3]])], {
    ...window(stride, 'SAME'),
    num_args: { i: '1' },
    fused_ops: act ? fusedAttr('BiasAdd', act) : fusedAttr('BiasAdd'),
    epsilon: { f: 0 },
  });
const maxPool = (g: GraphModelWriter, name: string, x: string) =>
  g.node(name, 'MaxPool', [x], { ksize: intsAttr(1, 2, 2, 1), ...window(2, 'VALID') });

/** Free input size (1, -1, -1, 3); an encoder of two levels, then a decoder back to the input's size. */
function segmenter(): string {
  const g = new GraphModelWriter('image', [1, -1, -1, 3]);
  const stem = fusedConv(g, 'seg/stem/conv', 'image', [3, 3, 3, 8], 2);
  const prelu = g.node('seg/stem/prelu', 'Prelu', [stem, weights(g, 'seg/stem/alpha', [8])]);
  const dw = g.node(
    'seg/enc1/dw',
    'DepthwiseConv2dNative',
    [prelu, weights(g, 'seg/enc1/dw/filter', [3, 3, 8, 1])],
    window(1, 'SAME'),
  );
  const enc1 = g.node('seg/enc1/relu', 'Relu', [
    g.node('seg/enc1/pw', 'Conv2D', [dw, weights(g, 'seg/enc1/pw/filter', [1, 1, 8, 16])], window(1, 'SAME')),
  ]);
  const enc2 = fusedConv(g, 'seg/enc2/conv', maxPool(g, 'seg/enc2/pool', enc1), [3, 3, 16, 16], 1, 'Relu');
  // The decoder resizes to the skip's size, read from the graph: Shape -> StridedSlice.
  const shape = g.node('seg/dec/shape', 'Shape', [prelu], { out_type: { type: 'DT_INT32' } });
  const size = g.node(
    'seg/dec/size',
    'StridedSlice',
    [shape, ints(g, 'seg/dec/b', [1], [1]), ints(g, 'seg/dec/e', [1], [3]), ints(g, 'seg/dec/s', [1], [1])],
    {},
  );
  const up = g.node('seg/dec/resize', 'ResizeBilinear', [enc2, size], {
    half_pixel_centers: { b: true },
    align_corners: { b: false },
  });
  const skip = g.node(
    'seg/dec/skip',
    'Conv2D',
    [prelu, weights(g, 'seg/dec/skip/filter', [1, 1, 8, 16])],
    window(1, 'SAME'),
  );
  const merged = g.node('seg/dec/add', 'AddV2', [up, skip]);
  const dec = fusedConv(g, 'seg/dec/conv', merged, [3, 3, 16, 16], 1, 'Relu');
  // Back to the input's size twice over: a transposed convolution, and DepthToSpace.
  const full = g.node(
    'seg/head/deconv',
    'Conv2DBackpropInput',
    [ints(g, 'seg/head/deconv/shape', [4], [1, 32, 32, 4]), weights(g, 'seg/head/deconv/filter', [3, 3, 4, 16]), dec],
    window(2, 'SAME'),
  );
  const sub = g.node('seg/head/d2s', 'DepthToSpace', [fusedConv(g, 'seg/head/sub', dec, [1, 1, 16, 16], 1)], {
    block_size: { i: '2' },
    data_format: stringAttr('NHWC'),
  });
  const both = g.node('seg/head/concat', 'ConcatV2', [full, sub, ints(g, 'seg/head/axis', [], [3])], { N: { i: '2' } });
  const out = fusedConv(g, 'seg/head/conv', both, [3, 3, 8, 1], 1);
  g.node('seg/mask', 'Sigmoid', [out]);
  return g.write(join(dir, 'segmenter'));
}

/** Channels-first input (1, 3, 32, 32), transposed in the graph; a dilated conv as converted; a detection head. */
function detector(): string {
  const g = new GraphModelWriter('input', [1, 3, 32, 32]);
  const nhwc = g.node('det/to_nhwc', 'Transpose', ['input', ints(g, 'det/perm', [4], [0, 2, 3, 1])]);
  const stem = fusedConv(g, 'det/stem', nhwc, [3, 3, 3, 8], 2, 'Relu');
  const block = ints(g, 'det/dilated/block', [2], [2, 2]);
  const batched = g.node('det/dilated/s2b', 'SpaceToBatchND', [
    stem,
    block,
    ints(g, 'det/dilated/pads', [2, 2], [2, 2, 2, 2]),
  ]);
  const conv = g.node(
    'det/dilated/conv',
    'Conv2D',
    [batched, weights(g, 'det/dilated/filter', [3, 3, 8, 8])],
    window(1, 'VALID'),
  );
  const back = g.node('det/dilated/b2s', 'BatchToSpaceND', [
    conv,
    block,
    ints(g, 'det/dilated/crops', [2, 2], [0, 0, 0, 0]),
  ]);
  const relu = g.node('det/dilated/relu', 'Relu', [g.node('det/dilated/add', 'AddV2', [back, stem])]);
  const head = fusedConv(g, 'det/head/conv', maxPool(g, 'det/pool', relu), [1, 1, 8, 5], 1);
  const rows = g.node('det/head/rows', 'Reshape', [head, ints(g, 'det/head/shape', [2], [-1, 5])]);
  const boxes = g.node('det/boxes', 'Slice', [
    rows,
    ints(g, 'det/boxes/b', [2], [0, 0]),
    ints(g, 'det/boxes/n', [2], [-1, 4]),
  ]);
  const scores = g.node('det/scores', 'Sigmoid', [
    g.node(
      'det/logits',
      'StridedSlice',
      [rows, ints(g, 'det/l/b', [2], [0, 4]), ints(g, 'det/l/e', [2], [0, 5]), ints(g, 'det/l/s', [2], [1, 1])],
      {
        begin_mask: { i: '1' },
        end_mask: { i: '1' },
        shrink_axis_mask: { i: '2' },
      },
    ),
  ]);
  g.node('det/topk', 'TopKV2', [scores, ints(g, 'det/k', [], [10])], { sorted: { b: true } });
  g.node('det/argmax', 'ArgMax', [rows, ints(g, 'det/argmax/axis', [], [1])], { output_type: { type: 'DT_INT32' } });
  const kept = g.node('det/nms', 'NonMaxSuppressionV3', [
    boxes,
    scores,
    ints(g, 'det/nms/max', [], [5]),
    g.constant('det/nms/iou', [], [0.5]),
    g.constant('det/nms/score', [], [0.1]),
  ]);
  g.node('det/kept', 'GatherV2', [boxes, kept, ints(g, 'det/kept/axis', [], [0])], { batch_dims: { i: '0' } });
  return g.write(join(dir, 'detector'));
}

/** An image, two recurrent states and a cond on a bool constant, as video-matting models have. */
function matting(): string {
  const g = new GraphModelWriter('src', [1, 32, 32, 3]);
  g.placeholder('r1', [1, 16, 16, 4]);
  g.placeholder('r2', [1, 8, 8, 4]);
  const stem = fusedConv(g, 'mat/stem', 'src', [3, 3, 3, 8], 2, 'Relu');
  const withState = g.node('mat/enc1/concat', 'ConcatV2', [stem, 'r1', ints(g, 'mat/axis1', [], [3])], {
    N: { i: '2' },
  });
  const enc1 = fusedConv(g, 'mat/enc1/conv', withState, [3, 3, 12, 8], 1, 'Relu');
  const down = fusedConv(g, 'mat/enc2/down', maxPool(g, 'mat/enc2/pool', enc1), [3, 3, 8, 8], 1, 'Relu');
  const withState2 = g.node('mat/enc2/concat', 'ConcatV2', [down, 'r2', ints(g, 'mat/axis2', [], [3])], {
    N: { i: '2' },
  });
  const enc2 = fusedConv(g, 'mat/enc2/conv', withState2, [3, 3, 12, 8], 1, 'Relu');
  // tf.cond as a graph: the predicate a bool constant, named as converters name it.
  const pivot = g.constant('mat/cond_1/pivot_t/_1', [], [1], 'bool');
  const split = g.node('mat/cond_1/Switch', 'Switch', [enc2, pivot]);
  const no = g.node('mat/cond_1/neg', 'Neg', [split]);
  const yes = g.node('mat/cond_1/tanh', 'Tanh', [`${split}:1`]);
  const merged = g.node('mat/cond_1/Merge', 'Merge', [no, yes], { N: { i: '2' } });
  fusedConv(g, 'mat/out', merged, [3, 3, 8, 4], 1, 'Sigmoid');
  return g.write(join(dir, 'matting'));
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** The cat as cnnviz feeds it: nearest-resized, pixels / 255, (1, H, W, 3). */
async function catInput(size: number): Promise<tf.Tensor4D> {
  const image = resizeNearest(await decodeImage(CAT), size, size);
  return tf.tensor4d(preprocessUnit(image.data), [1, size, size, 3]);
}

/** tfjs-converter's own values of the named nodes, channels-last, the other inputs fed as given. */
async function oracle(
  path: string,
  feeds: (image: tf.Tensor4D) => Record<string, tf.Tensor>,
  nodes: string[],
  size: number,
): Promise<Map<string, Float32Array>> {
  const graph = await loadGraphModelFile(path);
  const outs = (await graph.executeAsync(feeds(await catInput(size)), nodes)) as tf.Tensor[];
  return new Map(nodes.map((n, i) => [n, outs[i].dataSync() as Float32Array]));
}

/**
 * Every stage drawn, each equal to the oracle within 1e-4 of its scale. Returns the stages'
 * full node names and what the run said on stderr.
 */
async function drawnStages(
  path: string,
  args: string[],
  expected: (nodes: string[]) => Promise<Map<string, Float32Array>>,
): Promise<{ stages: string[]; stderr: string }> {
  const out = tmp('maps');
  const { code, stdout, stderr } = await cnnviz([
    'featuremaps',
    CAT,
    '--model',
    path,
    '--blocks',
    'all',
    '--save-npy',
    '-o',
    out,
    ...args,
  ]);
  if (code !== 0) throw new Error(stderr);
  const size = args.includes('--size')
    ? (args[args.indexOf('--size') + 1].split('x').map(Number) as [number, number])
    : undefined;
  const { net } = await openModel(path, { includeTop: true, size });
  const ends = stageEnds(net);
  const nodes = ends.map((l) => l.aliases?.[0] ?? l.name);
  expect(stdout.match(/cat-\S+\.png/g)).toEqual(ends.map((l) => `cat-${fileSafe(l.name)}.png`));
  const values = await expected(nodes);
  for (const [i, layer] of ends.entries()) {
    const ours = parseNpy(readFileSync(join(out, `cat-${fileSafe(layer.name)}.npy`))).data;
    const theirs = values.get(nodes[i])!;
    expect([layer.name, ours.length, maxAbsDiff(ours, theirs) <= 1e-4 * scaleOf(theirs)]).toEqual([
      layer.name,
      theirs.length,
      true,
    ]);
  }
  return { stages: nodes, stderr };
}

/** The summary's rows of unknown shape. */
async function unknownRows(path: string, args: string[] = []): Promise<string[]> {
  const { code, stdout } = await cnnviz(['summary', '--model', path, '--json', ...args]);
  expect(code).toBe(0);
  return JSON.parse(stdout)
    .rows.filter((r: { outputShape: string }) => r.outputShape === '?')
    .map((r: { name: string }) => r.name);
}

test('a segmenter of free input size (--size 32x32): PReLU, a folded Shape -> StridedSlice -> resize, a transposed conv and DepthToSpace', async () => {
  const path = segmenter();
  expect(await unknownRows(path, ['--size', '32x32'])).toEqual([]);
  const { stages } = await drawnStages(path, ['--size', '32x32'], (nodes) =>
    oracle(path, (image) => ({ image }), nodes, 32),
  );
  // Encoder levels at 16 and 8 pixels, the decoder's at 16, then the full size.
  expect(stages).toEqual(['seg/stem/prelu', 'seg/enc2/conv', 'seg/dec/conv', 'seg/mask']);
});

test('a channels-first detector: drawn as a channels-last one; the dilated conv a stage; only NMS and what follows unsized', async () => {
  const path = detector();
  expect(await unknownRows(path)).toEqual(['nms', 'kept']);
  const { stages } = await drawnStages(path, [], async (nodes) => {
    const graph = await loadGraphModelFile(path);
    const image = await catInput(32);
    const outs = (await graph.executeAsync({ input: tf.transpose(image, [0, 3, 1, 2]) }, nodes)) as tf.Tensor[];
    return new Map(nodes.map((n, i) => [n, outs[i].dataSync() as Float32Array]));
  });
  expect(stages).toEqual(['det/dilated/relu', 'det/head/conv']);
});

test('recurrent-state inputs get zeros, said once, or --input values; a cond on a bool constant runs on tfjs-converter, said in one line', async () => {
  const path = matting();
  expect(await unknownRows(path)).toEqual([]);
  const feeds = (r1: number) => (src: tf.Tensor4D) => ({
    src,
    r1: tf.fill([1, 16, 16, 4], r1),
    r2: tf.zeros([1, 8, 8, 4]),
  });
  const zeros = await drawnStages(path, [], (nodes) => oracle(path, feeds(0), nodes, 32));
  expect(zeros.stages).toEqual(['mat/enc1/conv', 'mat/out']);
  const said = zeros.stderr.split('\n').filter(Boolean);
  expect(said).toEqual([
    "cnnviz: the model's other inputs are fed constants: r1 (1x16x16x4) = 0, r2 (1x8x8x4) = 0; --input name=value sets one",
    "cnnviz: ONNX Runtime cannot express 'mat/cond_1/Switch' (Switch); running on tfjs instead (slower)",
    "cnnviz: preprocessing: 'unit' (pixels / 255), the default for model files; --preprocess sets another",
  ]);
  const half = await drawnStages(path, ['--input', 'r1=0.5'], (nodes) => oracle(path, feeds(0.5), nodes, 32));
  expect(half.stderr).toContain('r1 (1x16x16x4) = 0.5, r2 (1x8x8x4) = 0');
  const wrong = await cnnviz(['summary', '--model', path, '--input', 'r3=1']);
  expect([wrong.code, wrong.stderr]).toEqual([2, `cnnviz: --input r3: '${path}' has no such other input (r1, r2)\n`]);
  // A model of one input takes no --input, whatever its format.
  const resnet = join(FIXTURES, 'onnx', 'tiny_resnet.onnx');
  const single = await cnnviz(['summary', '--model', resnet, '--input', 'state=1']);
  expect([single.code, single.stderr]).toEqual([
    2,
    `cnnviz: --input state: '${resnet}' takes no input besides the image\n`,
  ]);
  const malformed = await cnnviz(['summary', '--model', path, '--input', 'r1']);
  expect([malformed.code, malformed.stderr]).toEqual([
    2,
    "cnnviz summary: option '--input <name=value>' argument 'r1' is invalid. expected name=value such as state_1=0.5, got 'r1'\n",
  ]);
});
