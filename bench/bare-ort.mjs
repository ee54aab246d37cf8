// The bench's reference process: Node.js loading onnxruntime-node, creating a session on a
// model (optimised at load, as a first run would) and running it RUNS times on a 224x224
// input, batch 1, with the threads cnnviz uses. Nothing else: the floor a cnnviz job stands on.
//
//   node bench/bare-ort.mjs MODEL.onnx RUNS THREADS
import * as ort from 'onnxruntime-node';

const [model, runs, threads] = process.argv.slice(2);
const session = await ort.InferenceSession.create(model, {
  graphOptimizationLevel: 'all',
  intraOpNumThreads: Number(threads),
  interOpNumThreads: 1,
});
const input = new ort.Tensor('float32', new Float32Array(3 * 224 * 224).fill(0.5), [1, 3, 224, 224]);
for (let i = 0; i < Number(runs); i++) await session.run({ [session.inputNames[0]]: input });
