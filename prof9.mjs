import * as ort from 'onnxruntime-node';
const [level, src] = process.argv.slice(2);
const x = new ort.Tensor('float32', Float32Array.from({length: 224*224*3}, (_, i) => (i % 255) - 120), [1,224,224,3]);
const a = performance.now();
const s = await ort.InferenceSession.create(src, { intraOpNumThreads: 2, interOpNumThreads: 1, graphOptimizationLevel: level });
const t = [performance.now() - a];
for (let i = 0; i < 3; i++) { const b = performance.now(); await s.run({ input: x }); t.push(performance.now() - b); }
console.log(level, src, t.map(Math.round));
