import pkg from 'onnx-proto';
import { readFileSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
const { onnx } = pkg;
const src = process.argv[2];
const m = onnx.ModelProto.decode(readFileSync(src));
const fd = openSync('/tmp/ext/weights.bin', 'w');
let offset = 0;
for (const t of m.graph.initializer) {
  const raw = t.rawData; if (!raw || raw.length < 1024) continue;
  const pad = (4096 - (offset % 4096)) % 4096; if (pad) { writeSync(fd, Buffer.alloc(pad)); offset += pad; }
  writeSync(fd, raw);
  t.externalData = [{ key: 'location', value: 'weights.bin' }, { key: 'offset', value: String(offset) }, { key: 'length', value: String(raw.length) }];
  t.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
  t.rawData = new Uint8Array(0);
  offset += raw.length;
}
closeSync(fd);
writeFileSync('/tmp/ext/model.onnx', onnx.ModelProto.encode(m).finish());
