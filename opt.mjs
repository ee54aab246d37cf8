import * as ort from 'onnxruntime-node';
import { readFileSync } from 'node:fs';
const s = await ort.InferenceSession.create(readFileSync(process.argv[2]), {
  intraOpNumThreads: 2, graphOptimizationLevel: 'all', optimizedModelFilePath: '/tmp/opt2/model.onnx',
  extra: { session: { optimized_model_external_initializers_file_name: 'weights.bin', optimized_model_external_initializers_min_size_in_bytes: '1024' } },
});
