/**
 * `preprocess_input` of keras.applications: turns RGB bytes (H, W, 3) into the float32 input
 * a model was trained on. Each model names its mode (see model/zoo.ts).
 */
export type PreprocessMode = 'caffe' | 'tf' | 'torch' | 'unit' | 'none';

export const PREPROCESS_MODES: PreprocessMode[] = ['caffe', 'tf', 'torch', 'unit', 'none'];

/** ImageNet channel means in BGR order, as Keras subtracts them in caffe mode. */
export const CAFFE_MEAN_BGR: readonly [number, number, number] = [103.939, 116.779, 123.68];
const TORCH_MEAN: readonly [number, number, number] = [0.485, 0.456, 0.406];
const TORCH_STD: readonly [number, number, number] = [0.229, 0.224, 0.225];

/** caffe: RGB to BGR, then subtract the ImageNet means; no scaling. VGG16's mode. */
export function preprocessCaffe(rgb: Uint8Array): Float32Array {
  const out = new Float32Array(rgb.length);
  for (let i = 0; i < rgb.length; i += 3) {
    out[i] = rgb[i + 2] - CAFFE_MEAN_BGR[0];
    out[i + 1] = rgb[i + 1] - CAFFE_MEAN_BGR[1];
    out[i + 2] = rgb[i] - CAFFE_MEAN_BGR[2];
  }
  return out;
}

/** tf: scale to [-1, 1]. */
export function preprocessTf(rgb: Uint8Array): Float32Array {
  return scaled(rgb, 1 / 127.5, -1);
}

/** torch: scale to [0, 1], then normalise each channel with the ImageNet mean and std. */
export function preprocessTorch(rgb: Uint8Array): Float32Array {
  const out = new Float32Array(rgb.length);
  for (let i = 0; i < rgb.length; i += 3) {
    for (let c = 0; c < 3; c++) out[i + c] = (rgb[i + c] / 255 - TORCH_MEAN[c]) / TORCH_STD[c];
  }
  return out;
}

/** unit: scale to [0, 1]. */
export function preprocessUnit(rgb: Uint8Array): Float32Array {
  return scaled(rgb, 1 / 255, 0);
}

/**
 * v * scale + offset for every byte, in a plain loop: Float32Array.from with a callback runs
 * cold (once per image) at about 20 ms for a 224x224 image, the loop at under 1 ms.
 */
function scaled(rgb: Uint8Array, scale: number, offset: number): Float32Array {
  const out = new Float32Array(rgb.length);
  for (let i = 0; i < rgb.length; i++) out[i] = rgb[i] * scale + offset;
  return out;
}

export function preprocessNone(rgb: Uint8Array): Float32Array {
  return Float32Array.from(rgb);
}

export const PREPROCESSORS: Record<PreprocessMode, (rgb: Uint8Array) => Float32Array> = {
  caffe: preprocessCaffe,
  tf: preprocessTf,
  torch: preprocessTorch,
  unit: preprocessUnit,
  none: preprocessNone,
};

/**
 * A mode as the affine map it is: input[c] = sum over j of matrix[c][j] * pixel[j] + offset[c],
 * pixels 0 to 255 in RGB order (caffe's matrix swaps R and B). Read off the mode itself, so an
 * optimised image is preprocessed (and its gradient taken back) exactly as images are.
 */
export function preprocessAffine(mode: PreprocessMode): { matrix: number[][]; offset: number[] } {
  const apply = PREPROCESSORS[mode];
  const offset = Array.from(apply(Uint8Array.of(0, 0, 0)));
  const columns = [0, 1, 2].map((j) => {
    const pixel = new Uint8Array(3);
    pixel[j] = 255;
    const out = apply(pixel);
    return [0, 1, 2].map((c) => (out[c] - offset[c]) / 255);
  });
  return { matrix: [0, 1, 2].map((c) => columns.map((column) => column[c])), offset };
}
