/**
 * Loading onnxruntime-node, in the main thread or a forward lane's, and its types.
 */
import { createRequire } from 'node:module';

export type Ort = typeof import('onnxruntime-node');
export type OrtSession = Awaited<ReturnType<Ort['InferenceSession']['create']>>;
export type OrtSessionOptions = NonNullable<Parameters<Ort['InferenceSession']['create']>[1]>;

export async function loadOrt(): Promise<Ort> {
  // Its telemetry leaves an empty mat-debug-<pid>.log and a .ses file in the temp folder on
  // every run; cnnviz sends nothing anywhere, so it is off unless the user set it themselves.
  process.env.ORT_DISABLE_TELEMETRY ??= '1';
  // require, not import(): the ESM loader would first parse its CommonJS files for their exports.
  const ort = createRequire(import.meta.url)('onnxruntime-node') as Ort;
  ort.env.logLevel = 'error';
  return ort;
}
