/**
 * Jest's node environment, with the host's typed-array constructors: onnxruntime-node makes
 * its output arrays in the host realm and checks them with `instanceof` in the test realm.
 */
const { TestEnvironment } = require('jest-environment-node');

class HostTypedArrays extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    for (const name of [
      'Float32Array',
      'Float64Array',
      'Int8Array',
      'Uint8Array',
      'Uint8ClampedArray',
      'Int16Array',
      'Uint16Array',
      'Int32Array',
      'Uint32Array',
      'BigInt64Array',
      'BigUint64Array',
      'ArrayBuffer',
    ]) {
      this.global[name] = globalThis[name];
    }
  }
}

module.exports = HostTypedArrays;
