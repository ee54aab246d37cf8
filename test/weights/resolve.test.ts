import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openKerasWeights } from '../../src/weights/h5.js';
import { resolveWeights } from '../../src/weights/resolve.js';
import { BUILTIN_MODELS, type BuiltinModel } from '../../src/formats/builtin.js';
import { seededVgg16Weights } from '../helpers/keras-h5.js';
import { closedPort, serveFiles, type FileServer } from '../helpers/server.js';

const NOTOP = BUILTIN_MODELS.vgg16.weights.notop.fileName;
let h5Bytes: Buffer;
let model: BuiltinModel;
let server: FileServer | undefined;

/** VGG16's no-top weights in the exact Keras layout, with seeded values, and a model entry whose md5 is theirs. */
beforeAll(async () => {
  h5Bytes = readFileSync(await seededVgg16Weights());
  const md5 = createHash('md5').update(h5Bytes).digest('hex');
  const real = BUILTIN_MODELS.vgg16;
  model = { ...real, weights: { ...real.weights, notop: { ...real.weights.notop, md5, bytes: h5Bytes.length } } };
});

afterEach(async () => {
  await server?.close();
  server = undefined;
});

function sandbox(baseUrl: string): { env: NodeJS.ProcessEnv; cache: string; home: string } {
  const root = mkdtempSync(join(tmpdir(), 'cnnviz-env-'));
  const env = { CNNVIZ_CACHE: join(root, 'cache'), HOME: join(root, 'home'), CNNVIZ_WEIGHTS_BASE_URL: baseUrl };
  return { env, cache: env.CNNVIZ_CACHE, home: env.HOME };
}

test('imagenet weights are downloaded with progress, verified, cached, loaded, and not fetched twice', async () => {
  server = await serveFiles({ [NOTOP]: { body: h5Bytes } });
  const { env, cache } = sandbox(server.baseUrl);
  const progress: number[] = [];
  let announced = '';
  const source = await resolveWeights('imagenet', model, {
    includeTop: false,
    env,
    onDownloadStart: (file, url) => (announced = `${file.fileName} ${url}`),
    onProgress: ({ received, total }) => progress.push(received / total!),
  });
  expect(source).toEqual({ kind: 'file', path: join(cache, NOTOP) });
  expect(announced).toBe(`${NOTOP} ${server.baseUrl}${NOTOP}`);
  expect(progress.length).toBeGreaterThan(2);
  expect(progress[progress.length - 1]).toBe(1);
  expect(readdirSync(cache).sort()).toEqual(['verified.json', NOTOP]);
  const file = await openKerasWeights(join(cache, NOTOP));
  expect(
    file
      .read(['block5_conv3'])
      .get('block5_conv3')!
      .map((w) => w.shape),
  ).toEqual([[3, 3, 512, 512], [512]]);
  file.close();

  await resolveWeights('imagenet', model, { includeTop: false, env });
  expect(server.requests).toEqual([NOTOP]);
});

test('a download with the wrong md5 is rejected and leaves nothing in the cache', async () => {
  const tampered = Buffer.from(h5Bytes);
  tampered[tampered.length - 1] ^= 0xff;
  server = await serveFiles({ [NOTOP]: { body: tampered } });
  const { env, cache } = sandbox(server.baseUrl);
  await expect(resolveWeights('imagenet', model, { includeTop: false, env })).rejects.toThrow(
    /is corrupt: md5 [0-9a-f]{32}, expected/,
  );
  expect(readdirSync(cache)).toEqual([]);
});

test('an interrupted transfer fails and leaves nothing in the cache', async () => {
  server = await serveFiles({ [NOTOP]: { body: h5Bytes, cutAfter: 100_000 } });
  const { env, cache } = sandbox(server.baseUrl);
  await expect(resolveWeights('imagenet', model, { includeTop: false, env })).rejects.toThrow(/failed after|cut short/);
  expect(readdirSync(cache)).toEqual([]);
});

test('a file Keras already downloaded (~/.keras/models or $KERAS_HOME/models) is used without the network', async () => {
  const { env, home } = sandbox(await closedPort());
  mkdirSync(join(home, '.keras', 'models'), { recursive: true });
  writeFileSync(join(home, '.keras', 'models', NOTOP), h5Bytes);
  expect(await resolveWeights('imagenet', model, { includeTop: false, env })).toEqual({
    kind: 'file',
    path: join(home, '.keras', 'models', NOTOP),
  });

  const kerasHome = mkdtempSync(join(tmpdir(), 'keras-home-'));
  mkdirSync(join(kerasHome, 'models'));
  writeFileSync(join(kerasHome, 'models', NOTOP), h5Bytes);
  const found = await resolveWeights('imagenet', model, { includeTop: false, env: { ...env, KERAS_HOME: kerasHome } });
  expect(found).toEqual({ kind: 'file', path: join(kerasHome, 'models', NOTOP) });
});

test('a damaged copy is passed over, saying which file: a bad cache copy is replaced by a fresh download', async () => {
  server = await serveFiles({ [NOTOP]: { body: h5Bytes } });
  const { env, cache, home } = sandbox(server.baseUrl);
  const damaged = Buffer.from(h5Bytes);
  damaged[5000] ^= 0xff;
  mkdirSync(join(home, '.keras', 'models'), { recursive: true });
  writeFileSync(join(home, '.keras', 'models', NOTOP), damaged);
  mkdirSync(cache, { recursive: true });
  writeFileSync(join(cache, NOTOP), damaged.subarray(0, 1000));
  const notices: string[] = [];
  const source = await resolveWeights('imagenet', model, {
    includeTop: false,
    env,
    notice: (line) => notices.push(line),
  });
  expect(source).toEqual({ kind: 'file', path: join(cache, NOTOP) });
  expect(notices).toEqual([
    `${join(home, '.keras', 'models', NOTOP)} does not match its md5 (damaged or cut short); looking further`,
    `${join(cache, NOTOP)} does not match its md5 (damaged or cut short); removed it, looking further`,
  ]);
  expect(readFileSync(join(cache, NOTOP)).equals(h5Bytes)).toBe(true);
  // The user's Keras copy is theirs: left as it was.
  expect(readFileSync(join(home, '.keras', 'models', NOTOP)).equals(damaged)).toBe(true);
  // Checked once: the next run trusts the good copy by its size and time, without reading it.
  const again: string[] = [];
  const verified = statSync(join(cache, 'verified.json')).mtimeMs;
  const second = await resolveWeights('imagenet', model, {
    includeTop: false,
    env,
    notice: (line) => again.push(line),
  });
  expect(second).toEqual({ kind: 'file', path: join(cache, NOTOP) });
  // The user's damaged copy is still said (from its remembered md5); the cache copy is trusted silently, nothing fetched or re-recorded.
  expect(again).toEqual([notices[0]]);
  expect(server.requests).toEqual([NOTOP]);
  expect(statSync(join(cache, 'verified.json')).mtimeMs).toBe(verified);
  expect(JSON.parse(readFileSync(join(cache, 'verified.json'), 'utf8'))[join(cache, NOTOP)].md5).toBe(
    model.weights.notop.md5,
  );
});

test('offline with no copy: the message names the file, where it looked, and the three ways out', async () => {
  const { env, cache, home } = sandbox(await closedPort());
  const attempt = resolveWeights('imagenet', model, { includeTop: false, env });
  await expect(attempt).rejects.toThrow(NOTOP);
  const message = await attempt.catch((err: Error) => err.message);
  expect(message).toContain('cannot reach');
  expect(message).toContain(join(home, '.keras', 'models'));
  expect(message).toContain(cache);
  expect(message).toMatch(/--weights PATH.*~\/\.keras\/models\/.*--weights none/);
  expect(message).not.toContain('\n');
});

test('only the classifier needs the 528 MB file: without the top the no-top file is asked for', async () => {
  server = await serveFiles({});
  const { env } = sandbox(server.baseUrl);
  await expect(resolveWeights('imagenet', model, { includeTop: false, env })).rejects.toThrow(/HTTP 404/);
  await expect(resolveWeights('imagenet', model, { includeTop: true, env })).rejects.toThrow(/HTTP 404/);
  expect(server.requests).toEqual([NOTOP, BUILTIN_MODELS.vgg16.weights.top.fileName]);
});

test("'none' needs no file, a path must exist", async () => {
  expect(await resolveWeights('none', model, { includeTop: false })).toEqual({ kind: 'none' });
  await expect(resolveWeights('/no/such/file.h5', model, { includeTop: false })).rejects.toThrow(
    "weights file '/no/such/file.h5' does not exist",
  );
});
