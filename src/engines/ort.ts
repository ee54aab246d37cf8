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

/**
 * A one-node model, 68 bytes whose only use is to make ONNX Runtime set itself up, made with
 * onnx 1.x's helper in Python (test/engines/onnx-lanes.test.ts reads it back and runs it):
 *   x, y = (helper.make_tensor_value_info(n, TensorProto.FLOAT, [1]) for n in 'xy')
 *   graph = helper.make_graph([helper.make_node('Identity', ['x'], ['y'])], 'warm', [x], [y])
 *   helper.make_model(graph, opset_imports=[helper.make_opsetid('', 13)], ir_version=8)
 */
export const IDENTITY_ONNX =
  'CAg6OgoQCgF4EgF5IghJZGVudGl0eRIEd2FybVoPCgF4EgoKCAgBEgQKAggBYg8KAXkSCgoICAESBAoCCAFCBAoAEA0=';

/**
 * ONNX Runtime's environment (its logging and threads: 20-60 ms the first time in a thread),
 * made now by a session on a one-node model, created and released, for a thread with time to
 * spare before its real session. Whatever fails here fails again, and is reported, there.
 */
export async function startOrtEnvironment(ort: Ort): Promise<void> {
  const session = await ort.InferenceSession.create(Buffer.from(IDENTITY_ONNX, 'base64')).catch(() => undefined);
  await session?.release();
}
