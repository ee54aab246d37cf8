/**
 * ONNX Runtime sessions, shared by every format that runs on it: a Keras model translated to
 * ONNX, or an ONNX file run as it is. Sessions use every core; the runtime's own warnings
 * (that a saved optimised model is processor-specific, say) are not the user's.
 */
import { cpus } from 'node:os';
import type { Forward } from './forward.js';

export type Ort = typeof import('onnxruntime-node');
export type OrtSession = Awaited<ReturnType<Ort['InferenceSession']['create']>>;
export type OrtSessionOptions = NonNullable<Parameters<Ort['InferenceSession']['create']>[1]>;

export async function loadOrt(): Promise<Ort> {
  const ort = await import('onnxruntime-node');
  ort.env.logLevel = 'error';
  return ort;
}

export const baseSessionOptions = (): OrtSessionOptions => ({ intraOpNumThreads: cpus().length, interOpNumThreads: 1, logSeverityLevel: 3 });

/** How a tensor is laid out: image tensors NCHW or NHWC, anything else as it is. */
export type TensorLayout = 'nchw' | 'nhwc' | 'flat';

/** (N, H, W, C) to (N, C, H, W), or back with `toChannelsLast`. */
export function transposeImage(data: Float32Array, [n, a, b, c]: number[], toChannelsLast = false): Float32Array {
  const out = new Float32Array(data.length);
  if (!toChannelsLast) {
    // data is (n, h=a, w=b, c)
    for (let i = 0; i < n; i++)
      for (let y = 0; y < a; y++)
        for (let x = 0; x < b; x++)
          for (let k = 0; k < c; k++) out[((i * c + k) * a + y) * b + x] = data[((i * a + y) * b + x) * c + k];
    return out;
  }
  // data is (n, c=a, h=b, w=c)
  const [ch, h, w] = [a, b, c];
  for (let i = 0; i < n; i++)
    for (let k = 0; k < ch; k++)
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++) out[((i * h + y) * w + x) * ch + k] = data[((i * ch + k) * h + y) * w + x];
  return out;
}

/**
 * A Forward over a session: the channels-last batch goes in as the input expects it, and each
 * output comes back channels-last, so every engine hands the pipeline one layout.
 */
export function sessionForward(ort: Ort, session: OrtSession, input: { name: string; layout: TensorLayout }, outputs: Array<{ name: string; layout: TensorLayout }>): Forward {
  return {
    engine: 'onnx',
    async run(batch, [n, h, w, c]) {
      const nchw = input.layout === 'nchw';
      const tensor = new ort.Tensor('float32', nchw ? transposeImage(batch, [n, h, w, c]) : batch, nchw ? [n, c, h, w] : [n, h, w, c]);
      const result = await session.run({ [input.name]: tensor }, outputs.map((o) => o.name));
      return outputs.map(({ name, layout }) => {
        const value = result[name];
        const data = value.data as Float32Array;
        return layout === 'nchw' && value.dims.length === 4 ? transposeImage(data, value.dims as number[], true) : data;
      });
    },
    dispose: async () => {
      await session.release();
    },
  };
}
