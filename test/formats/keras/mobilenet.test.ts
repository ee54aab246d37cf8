/**
 * A MobileNetV2 as keras.applications builds it (Conv1 stride 2, inverted residual blocks with
 * ZeroPadding2D before each strided depthwise convolution, ReLU6, BatchNormalization), narrowed
 * and saved by tfjs with its weights quantized to uint8 as tfjs-converter does: it draws its
 * five resolution stages (it drew one when blocks ended at pooling layers), equal to tfjs
 * running the same quantized files.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { decodeImage } from '../../../src/image/decode.js';
import { preprocessUnit } from '../../../src/image/preprocess.js';
import { resizeNearest } from '../../../src/image/resize.js';
import { cnnviz } from '../../helpers/cli.js';
import { maxAbsDiff, scaleOf } from '../../helpers/compare.js';
import { seededValues } from '../../helpers/keras-h5.js';
import { saveTfjs } from '../../helpers/model-files.js';
import { parseNpy } from '../../helpers/npy.js';
import { CAT } from '../../helpers/paths.js';
import { quantizeModelJson } from '../../helpers/quantize.js';

const L = tfl.layers;
const sym = (t: unknown) => t as tfl.SymbolicTensor;

/** keras.applications.MobileNetV2's structure and layer names, with few channels and blocks. */
function mobileNetV2(): tfl.LayersModel {
  const input = tfl.input({ shape: [96, 96, 3], name: 'input_1' });
  const bnRelu = (x: tfl.SymbolicTensor, name: string) =>
    sym(
      L.reLU({ maxValue: 6, name: `${name}_relu` }).apply(sym(L.batchNormalization({ name: `${name}_BN` }).apply(x))),
    );
  let x = bnRelu(
    sym(
      L.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'same', useBias: false, name: 'Conv1' }).apply(input),
    ),
    'Conv1',
  );
  let channels = 8;
  // [output channels, stride] per block; each stride-2 block pads, then its depthwise conv is 'valid'.
  const blocks: Array<[number, number]> = [
    [8, 1],
    [12, 2],
    [12, 1],
    [16, 2],
    [24, 2],
    [24, 1],
    [32, 2],
  ];
  blocks.forEach(([filters, stride], b) => {
    const name = b === 0 ? 'expanded_conv' : `block_${b}`;
    let y = x;
    if (b > 0)
      y = bnRelu(
        sym(L.conv2d({ filters: channels * 6, kernelSize: 1, useBias: false, name: `${name}_expand` }).apply(y)),
        `${name}_expand`,
      );
    if (stride === 2)
      y = sym(
        L.zeroPadding2d({
          padding: [
            [0, 1],
            [0, 1],
          ],
          name: `${name}_pad`,
        }).apply(y),
      );
    y = bnRelu(
      sym(
        L.depthwiseConv2d({
          kernelSize: 3,
          strides: stride,
          padding: stride === 2 ? 'valid' : 'same',
          useBias: false,
          name: `${name}_depthwise`,
        }).apply(y),
      ),
      `${name}_depthwise`,
    );
    y = sym(
      L.batchNormalization({ name: `${name}_project_BN` }).apply(
        sym(L.conv2d({ filters, kernelSize: 1, useBias: false, name: `${name}_project` }).apply(y)),
      ),
    );
    x = stride === 1 && filters === channels ? sym(L.add({ name: `${name}_add` }).apply([x, y])) : y;
    channels = filters;
  });
  x = bnRelu(sym(L.conv2d({ filters: 64, kernelSize: 1, useBias: false, name: 'Conv_1' }).apply(x)), 'Conv_1');
  const out = sym(
    L.dense({ units: 5, activation: 'softmax', name: 'predictions' }).apply(
      sym(L.globalAveragePooling2d({ name: 'global_average_pooling2d' }).apply(x)),
    ),
  );
  const model = tfl.model({ inputs: input, outputs: out, name: 'mobilenetv2' });
  // Trained-looking statistics: fresh BatchNormalization layers are the identity.
  for (const layer of model.layers) {
    layer.setWeights(
      layer.getWeights().map((w, k) =>
        tf.tensor(
          Float32Array.from(seededValues(w.size, 100 + k + layer.name.length, 0.3), (v) =>
            layer.name.endsWith('_BN') && k === 3 ? Math.abs(v) + 0.5 : v,
          ),
          w.shape,
        ),
      ),
    );
  }
  return model;
}

test('a uint8-quantized MobileNetV2 layers model draws its five stages, equal to tfjs on the same files', async () => {
  await tf.setBackend('cpu');
  const path = quantizeModelJson(await saveTfjs(mobileNetV2(), mkdtempSync(join(tmpdir(), 'cnnviz-mnv2-'))), 'uint8');
  const out = mkdtempSync(join(tmpdir(), 'cnnviz-mnv2-out-'));
  const { code, stdout } = await cnnviz([
    'featuremaps',
    CAT,
    '--model',
    path,
    '--blocks',
    'all',
    '--save-npy',
    '-o',
    out,
  ]);
  expect(code).toBe(0);
  // The expand activation before each strided depthwise convolution (blocks 1, 3, 4, 6), then
  // the last conv's: at 48, 24, 12, 6 and 3 pixels.
  const stages = [
    'block_1_expand_relu',
    'block_3_expand_relu',
    'block_4_expand_relu',
    'block_6_expand_relu',
    'Conv_1_relu',
  ];
  expect(stdout.match(/^\S+\.png/gm)!.map((f) => f.replace(/^.*cat-|\.png$/g, ''))).toEqual(stages);
  // tfjs' own reading of the quantized files.
  const json = JSON.parse(readFileSync(path, 'utf8'));
  const data = readFileSync(join(path, '..', 'weights.bin'));
  const model = await tfl.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: json.modelTopology,
      weightSpecs: json.weightsManifest[0].weights,
      weightData: data.buffer.slice(data.byteOffset, data.byteOffset + data.length),
    }),
  );
  const probe = tfl.model({ inputs: model.inputs, outputs: stages.map((n) => sym(model.getLayer(n).output)) });
  const pixels = preprocessUnit(resizeNearest(await decodeImage(CAT), 96, 96).data);
  const outputs = probe.predict(tf.tensor4d(pixels, [1, 96, 96, 3])) as tf.Tensor[];
  stages.forEach((name, i) => {
    const ours = parseNpy(readFileSync(join(out, `cat-${name}.npy`)));
    const theirs = outputs[i].dataSync() as Float32Array;
    expect([name, ours.shape]).toEqual([name, outputs[i].shape.slice(1)]);
    expect(maxAbsDiff(ours.data, theirs) / scaleOf(theirs)).toBeLessThan(1e-4);
  });
});
