/** The CLI end to end, as a user runs it: exit codes, messages, and the files it writes. */
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cnnviz, readPng } from './helpers/cli.js';
import { CAT, FIXTURES, ROOT } from './helpers/paths.js';
import { closedPort } from './helpers/server.js';

const tmp = (prefix: string) => mkdtempSync(join(tmpdir(), `cnnviz-${prefix}-`));
/** Keeps runs away from the user's own caches and network. */
const offline = async () => {
  const root = tmp('home');
  return {
    HOME: root,
    CNNVIZ_CACHE: join(root, 'cache'),
    KERAS_HOME: join(root, 'keras'),
    CNNVIZ_WEIGHTS_BASE_URL: await closedPort(),
  };
};

describe('summary', () => {
  test('prints the Keras table with the totals, thousands separated', async () => {
    const { code, stdout, stderr } = await cnnviz(['summary']);
    expect([code, stderr]).toEqual([0, '']);
    expect(stdout).toContain('Model: "vgg16"');
    expect(stdout).toMatch(/Layer \(type\)\s+Output Shape\s+Param #/);
    expect(stdout).toMatch(/ 1 {2}block1_conv1 \(Conv2D\)\s+\(None, 224, 224, 64\)\s+1,792/);
    expect(stdout).toContain('Total params: 138,357,544');
    expect(stdout).toContain('Trainable params: 138,357,544');
    expect(stdout).toContain('Non-trainable params: 0');
  });

  test('--no-top --json reports 14,714,688 parameters', async () => {
    const { code, stdout } = await cnnviz(['summary', '--no-top', '--json']);
    expect(code).toBe(0);
    const summary = JSON.parse(stdout);
    expect(summary.totalParams).toBe(14_714_688);
    expect(summary.rows.at(-1).name).toBe('block5_pool');
  });

  test('--conv lists each convolution with its kernel shape', async () => {
    const { stdout } = await cnnviz(['summary', '--conv']);
    expect(stdout).toMatch(/ 1 {2}block1_conv1\s+\(3, 3, 3, 64\)\s+\(None, 224, 224, 64\)/);
    expect(stdout).toMatch(/17 {2}block5_conv3\s+\(3, 3, 512, 512\)/);
  });

  test('vgg19 is built in too', async () => {
    const { stdout } = await cnnviz(['summary', '--model', 'vgg19']);
    expect(stdout).toContain('block5_conv4');
    expect(stdout).toContain('Total params: 143,667,240');
  });
});

test('--version prints the version; with --verbose also the engine in use', async () => {
  const plain = await cnnviz(['--version']);
  expect([plain.code, plain.stdout.trim(), plain.stderr]).toEqual([0, 'cnnviz 0.1.0', '']);
  const verbose = await cnnviz(['--version', '--verbose']);
  expect(verbose.stderr).toMatch(/backend: onnx \(onnxruntime-node [\d.]+, \d+ threads\)/);
  const wasm = await cnnviz(['--version', '--verbose', '--backend', 'wasm']);
  expect(wasm.stderr).toContain('backend: wasm');
});

describe('pictures with --weights none (offline)', () => {
  test('featuremaps --blocks all writes five 8x8 mosaics, one per block, and says the weights are random', async () => {
    const out = tmp('out');
    const { code, stdout, stderr } = await cnnviz([
      'featuremaps',
      CAT,
      '--blocks',
      'all',
      '--weights',
      'none',
      '-o',
      out,
    ]);
    expect(code).toBe(0);
    expect(stderr).toContain('random initial weights');
    const names = ['block1_conv2', 'block2_conv2', 'block3_conv3', 'block4_conv3', 'block5_conv3'];
    expect(readdirSync(out).sort()).toEqual(names.map((n) => `cat-${n}.png`));
    // 224 maps at native size; 14x14 maps enlarged 5x to 70 pixels; 2-pixel separators.
    expect([readPng(join(out, 'cat-block1_conv2.png')).width]).toEqual([8 * 226 + 2]);
    expect([readPng(join(out, 'cat-block5_conv3.png')).width]).toEqual([8 * 72 + 2]);
    expect(stdout.trim().split('\n')).toHaveLength(5);
    expect(stdout).toMatch(/cat-block1_conv2\.png\s+[\d.]+ [KM]B\s+block1_conv2 224x224: 64 of 64 maps/);
    expect(stdout).toContain('RANDOM weights');
  });

  test('filters draws 6 filters by 3 channels of 33-pixel tiles', async () => {
    const out = tmp('out');
    const { code, stdout } = await cnnviz([
      'filters',
      '--layer',
      'block1_conv1',
      '--count',
      '6',
      '--weights',
      'none',
      '-o',
      out,
    ]);
    expect(code).toBe(0);
    const png = readPng(join(out, 'filters-block1_conv1.png'));
    expect([png.width, png.height]).toEqual([3 * 35 + 2, 6 * 35 + 2]);
    expect(stdout).toContain('6 of 64 filters (rows) x 3 input channels (columns)');
  });

  test('--json lists the written files for scripts', async () => {
    const out = tmp('out');
    const { stdout } = await cnnviz([
      'featuremaps',
      CAT,
      '--layer',
      '1',
      '--count',
      '4',
      '--weights',
      'none',
      '--json',
      '-o',
      out,
    ]);
    const result = JSON.parse(stdout);
    const path = join(out, 'cat-block1_conv1.png');
    expect(result.files).toEqual([
      { path, bytes: statSync(path).size, shows: expect.stringContaining('4 of 64 maps') },
    ]);
    expect(result.weights).toMatch(/^none/);
  });
});

describe('bad input: one clear line, the right exit code, no file left behind', () => {
  const cases: Array<[string, (dir: string) => string[], number, RegExp]> = [
    ['a missing image', () => ['featuremaps', 'no-such.jpg'], 2, /image 'no-such\.jpg' does not exist/],
    [
      'a file that is not an image',
      (d) => ['featuremaps', write(d, 'notes.jpg', 'hello, not a jpeg')],
      2,
      /is not an image/,
    ],
    ['a zero-byte file', (d) => ['featuremaps', write(d, 'empty.png', '')], 2, /is empty \(0 bytes\)/],
    [
      'a truncated JPEG',
      (d) => ['featuremaps', write(d, 'half.jpg', readFileSync(CAT).subarray(0, 9000))],
      1,
      /cannot decode .*half\.jpg/,
    ],
    [
      'an image beyond the pixel limit',
      (d) => ['featuremaps', write(d, 'huge.png', hugePngHeader(20000, 20000))],
      2,
      /larger than 100,000,000 pixels/,
    ],
    [
      'a layer that is not convolutional, for filters',
      () => ['filters', '--layer', 'block1_pool'],
      2,
      /'block1_pool' \(MaxPooling2D\) is not a convolutional layer/,
    ],
    [
      'a non-spatial layer, for featuremaps',
      () => ['featuremaps', CAT, '--layer', 'fc1'],
      2,
      /'fc1' \(Dense\) is not a spatial layer/,
    ],
    ['an unknown layer', () => ['filters', '--layer', 'block1_cnov1'], 2, /Did you mean 'block1_conv1'/],
    ['--count 0', () => ['filters', '--count', '0'], 2, /--count.*expected a whole number of 1 or more, got '0'/],
    ['an unknown option', () => ['summary', '--frobnicate'], 2, /unknown option '--frobnicate'/],
    ['a bad --blocks list', () => ['featuremaps', CAT, '--blocks', '1,9'], 2, /block numbers from 1 to 5/],
  ];

  test.each(cases)('%s', async (_name, args, expectedCode, message) => {
    const dir = tmp('bad');
    const out = join(dir, 'out');
    const { code, stderr, stdout } = await cnnviz([...args(dir), '--weights', 'none', '-o', out], await offline());
    expect(stderr).toMatch(message);
    expect(code).toBe(expectedCode);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).not.toMatch(/\n\s+at /);
    expect(stdout).toBe('');
    expect(
      readdirSync(dir)
        .filter((f) => f === 'out')
        .flatMap(() => readdirSync(out)),
    ).toEqual([]);
  });

  test('an output path that is a file', async () => {
    const dir = tmp('bad');
    const file = write(dir, 'taken', 'x');
    const { code, stderr } = await cnnviz(['filters', '--weights', 'none', '-o', file]);
    expect([code, stderr.trim()]).toEqual([2, `cnnviz: output path '${file}' is a file, not a folder`]);
  });

  test('a count above what the layer has is clamped, with a notice', async () => {
    const out = tmp('out');
    const { code, stderr } = await cnnviz(['filters', '--count', '100', '--weights', 'none', '-o', out]);
    expect(code).toBe(0);
    expect(stderr).toContain('block1_conv1 has 64 filters; drawing 64');
  });

  test('offline with no weights anywhere: the clear message, exit 1', async () => {
    const out = tmp('out');
    const env = await offline();
    const { code, stderr } = await cnnviz(['filters', '-o', out], env);
    expect(code).toBe(1);
    expect(stderr).toContain('vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5 was not found in');
    expect(stderr).toContain('--weights none');
    expect(readdirSync(out)).toEqual([]);
    expect(existsSync(env.CNNVIZ_CACHE) ? readdirSync(env.CNNVIZ_CACHE) : []).toEqual([]);
  });

  test('errors carry no stack trace unless --verbose asks for it', async () => {
    const quiet = await cnnviz(['featuremaps', 'no-such.jpg']);
    expect(quiet.stderr).not.toContain('    at ');
    const verbose = await cnnviz(['featuremaps', 'no-such.jpg', '--weights', 'none', '--verbose']);
    expect(verbose.stderr).toContain('    at ');
  });
});

function write(dir: string, name: string, content: string | Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

/** A PNG whose header claims a huge size: a decoder that trusted it would try to allocate it. */
function hugePngHeader(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', Buffer.alloc(16)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

function crc32(bytes: Buffer): number {
  let crc = ~0;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1));
  }
  return ~crc >>> 0;
}

describe('interruptions', () => {
  test('a closed pipe (summary | head -1) ends quietly, with no stack trace', async () => {
    const { spawn } = await import('node:child_process');
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'cnnviz.js'), 'summary', '--model', 'vgg19'], {
      cwd: ROOT,
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    // Close our end before the table is written, as `head -1` does once it has its line.
    child.stdout.destroy();
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect([code, stderr]).toEqual([0, '']);
  });

  test('Ctrl-C under a terminal during a batch: cursor and line wrap restored, no temporary file, exit 130', async () => {
    const { spawn } = await import('node:child_process');
    const dir = tmp('sigint');
    mkdirSync(join(dir, 'photos'));
    for (let i = 0; i < 40; i++) copyFileSync(CAT, join(dir, 'photos', `cat${i}.jpg`));
    const command = `${process.execPath} ${join(ROOT, 'bin', 'cnnviz.js')} featuremaps photos --weights none --blocks all -o out`;
    // script(1) gives the CLI a pseudo-terminal, so it draws its progress bar (hiding the cursor).
    const child = spawn('script', ['-qefc', command, '/dev/null'], {
      cwd: dir,
      env: { ...process.env, CNNVIZ_BACKEND: '', CNNVIZ_CACHE: join(dir, 'cache') },
    });
    let screen = '';
    child.stdout.on('data', (d) => (screen += d));
    await new Promise<void>((resolve) => {
      const check = () => (/ \d+\/40 images/.test(screen) ? resolve() : setTimeout(check, 50));
      check();
    });
    child.stdin.write('\x03'); // Ctrl-C at the terminal: SIGINT to the foreground process
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(130);
    expect(screen).toContain('\x1b[?25l');
    const end = screen.slice(screen.lastIndexOf('\x1b[?25l'));
    expect(end).toContain('\x1b[?25h');
    expect(end).toContain('\x1b[?7h');
    expect(screen).toMatch(/cnnviz: interrupted \(SIGINT\)/);
    expect(screen).not.toMatch(/\n\s+at /);
    const { filesBelow } = await import('./helpers/faults.js');
    expect(filesBelow(join(dir, 'out')).filter((f) => f.includes('.cnnviz-tmp-'))).toEqual([]);
  }, 120_000);
});

describe('terminal escape codes in names are printed escaped, never raw', () => {
  test('a missing image named with ESC [ 2 J: the line shows \\x1b, the terminal is not cleared', async () => {
    const { code, stderr } = await cnnviz([
      'featuremaps',
      '\x1b[2Jcat\x07.jpg',
      '--weights',
      'none',
      '-o',
      mkdtempSync(join(tmpdir(), 'cnnviz-esc-')),
    ]);
    expect(code).toBe(2);
    expect(stderr).toBe("cnnviz: image '\\x1b[2Jcat\\x07.jpg' does not exist\n");
  });

  test('a broken image in a folder, named with colour codes: the notice and the list escape them', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'cnnviz-esc-folder-'));
    copyFileSync(join(FIXTURES, 'onnx', 'cat64.png'), join(folder, 'good.png'));
    writeFileSync(join(folder, '\x1b[31mred\x1b[0m.png'), 'not a png');
    const { code, stdout, stderr } = await cnnviz([
      'featuremaps',
      folder,
      '--model',
      join(FIXTURES, 'onnx', 'tiny_resnet.onnx'),
      '--layer',
      '/relu/Relu',
      '-o',
      join(folder, 'out'),
    ]);
    expect(code).toBe(1);
    expect(stderr + stdout).not.toContain('\x1b');
    expect(stderr).toContain('\\x1b[31mred\\x1b[0m.png');
  });
});
