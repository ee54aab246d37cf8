/**
 * Stages: what `--blocks` counts. A stage is a run of layers, in topological order, that
 * compute features at one spatial resolution; it ends at the run's last layer. Resolution is
 * the output stride (input size over map size, to the nearest power of two), so that a
 * 'valid' 3x3 convolution (64 to 62 pixels) stays in its stage while a pooling layer or a
 * strided convolution starts the next. Layers that only pad or crop, 1x1 maps, and runs
 * without a convolution (VGG's last pooling layer alone, preprocessing on the raw input)
 * start no stage. On VGG16 the ends are block1_conv2 ... block5_conv3; on a ResNet the stem's
 * ReLU and the ends of layer1 ... layer4; on a MobileNetV2 the expand activation before each
 * strided depthwise convolution, then the last convolution.
 */
import { isSpatial, type Net, type NetLayer } from './net.js';

/** log2 of how many times smaller the map is than the input, rounded: 0, 1, 2, ... */
export function strideLevel([inputHeight, inputWidth]: [number, number], [height, width]: [number, number]): number {
  return Math.round(Math.log2((inputHeight * inputWidth) / (height * width)) / 2);
}

export function stageEnds(net: Net): NetLayer[] {
  const [inputHeight, inputWidth] = net.input;
  if (typeof inputHeight !== 'number' || typeof inputWidth !== 'number') return [];
  const ends: NetLayer[] = [];
  let level: number | undefined;
  let last: NetLayer | undefined;
  let computes = false;
  const close = () => {
    if (last && computes) ends.push(last);
  };
  for (const layer of net.layers) {
    // A nested model's row stands for its last layer: its own layers, listed after it, count.
    if (!isSpatial(layer) || layer.role === 'pad' || layer.role === 'model') continue;
    const [h, w] = layer.mapShape!;
    if (typeof h !== 'number' || typeof w !== 'number' || h * w <= 1) continue;
    const here = strideLevel([inputHeight, inputWidth], [h, w]);
    if (here !== level) {
      close();
      level = here;
      computes = false;
    }
    last = layer;
    computes ||= layer.role === 'conv';
  }
  close();
  return ends;
}
