import * as ort from 'onnxruntime-node';
const [level, src] = process.argv.slice(2);
const x = new ort.Tensor('float32', Float32Array.from({length: 224*224*3}, (_, i) => (i % 255) - 120), [1,224,224,3]);
const a = performance.now();
const s = await ort.InferenceSession.create(src, { intraOpNumThreads: 2, interOpNumThreads: 1, graphOptimizationLevel: level });
const b = performance.now();
await s.run({ input: x });
const c = performance.now();
console.log(level, { create: Math.round(b-a), run1: Math.round(c-b), sum: Math.round(c-a) });
