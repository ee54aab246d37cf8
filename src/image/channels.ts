/**
 * Images come decoded as RGB; a model may take 1 channel (grayscale) or 4 (RGBA). Grayscale is
 * made as PIL's convert('L') makes it, which Keras' load_img(color_mode='grayscale') calls: ITU-R
 * 601-2 luma, L = R 299/1000 + G 587/1000 + B 114/1000, in PIL's fixed point (16 bits, rounded).
 */
import { usageError } from '../errors.js';
import type { PreprocessMode } from './preprocess.js';

export type InputChannels = 1 | 3 | 4;

/** The model's input channels as cnnviz feeds them, or a usage error naming the count. */
export function inputChannels(name: string, channels: unknown, preprocessing: PreprocessMode): InputChannels {
  if (channels !== 1 && channels !== 3 && channels !== 4)
    throw usageError(
      `${name} takes ${String(channels)}-channel input; cnnviz feeds grayscale, RGB or RGBA images (1, 3 or 4 channels)`,
    );
  // These modes hold a mean and deviation per RGB channel.
  if (channels !== 3 && (preprocessing === 'caffe' || preprocessing === 'torch'))
    throw usageError(
      `${name} takes ${channels}-channel input; '${preprocessing}' preprocessing is for RGB: give --preprocess unit, tf or none`,
    );
  return channels;
}

/** What a user should read once when images are not fed as RGB. */
export function channelsNote(channels: InputChannels): string | undefined {
  if (channels === 1) return "the model takes grayscale input: images are converted as PIL's convert('L') does";
  if (channels === 4) return 'the model takes RGBA input: images are fed opaque (alpha 255)';
  return undefined;
}

/** RGB pixels (h * w * 3) as the model's channels: grayscale, RGB itself, or opaque RGBA. */
export function toInputChannels(rgb: Uint8Array, channels: InputChannels): Uint8Array {
  if (channels === 3) return rgb;
  const pixels = rgb.length / 3;
  const out = new Uint8Array(pixels * channels);
  for (let p = 0; p < pixels; p++) {
    const [r, g, b] = [rgb[3 * p], rgb[3 * p + 1], rgb[3 * p + 2]];
    if (channels === 1) out[p] = (r * 19595 + g * 38470 + b * 7471 + 0x8000) >>> 16;
    else [out[4 * p], out[4 * p + 1], out[4 * p + 2], out[4 * p + 3]] = [r, g, b, 255];
  }
  return out;
}
