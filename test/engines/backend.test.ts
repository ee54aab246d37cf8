import { selectBackend } from '../../src/engines/backend.js';

test('auto without tfjs-node falls back to wasm, saying so in one line', async () => {
  const lines: string[] = [];
  const missing = Object.assign(new Error("Cannot find package '@tensorflow/tfjs-node'"), {
    code: 'ERR_MODULE_NOT_FOUND',
  });
  const backend = await selectBackend('auto', {
    explain: (l) => lines.push(l),
    importTfjsNode: () => Promise.reject(missing),
  });
  expect(backend).toBe('wasm');
  expect(lines).toEqual(['tfjs-node not installed (it is optional); using wasm']);
});

test('a present but broken tfjs-node (binary missing) falls back cleanly with the reason', async () => {
  const lines: string[] = [];
  const broken = new Error(
    'libtensorflow.so.2: cannot open shared object file: No such file or directory\n    at Module._extensions',
  );
  const backend = await selectBackend('auto', {
    explain: (l) => lines.push(l),
    importTfjsNode: () => Promise.reject(broken),
  });
  expect(backend).toBe('wasm');
  expect(lines).toEqual([
    'tfjs-node present but does not load (libtensorflow.so.2: cannot open shared object file: No such file or directory); using wasm',
  ]);
});

test('asking for tensorflow explicitly when it cannot load is an error, not a silent fallback', async () => {
  await expect(
    selectBackend('tensorflow', { importTfjsNode: () => Promise.reject(new Error('nope')) }),
  ).rejects.toThrow('--backend tensorflow needs @tensorflow/tfjs-node');
});

test('CNNVIZ_THREADS sets the threads of a forward pass; every core when unset; nonsense is refused', async () => {
  const { forwardThreads } = await import('../../src/config.js');
  const { cpus } = await import('node:os');
  expect(forwardThreads({ CNNVIZ_THREADS: '3' })).toBe(3);
  expect(forwardThreads({})).toBe(cpus().length);
  expect(() => forwardThreads({ CNNVIZ_THREADS: '0' })).toThrow(
    'CNNVIZ_THREADS=0: expected a whole number of 1 or more',
  );
});
