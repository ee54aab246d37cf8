/**
 * Writes that fail in the middle of a batch, injected for real: an image's folder made
 * immutable is reported and skipped while the run goes on; a full disk stops the run with one
 * line naming the folder. No stack trace, no temporary file left.
 */
import { copyFileSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cnnviz } from '../helpers/cli.js';
import { asRoot, filesBelow, immutable, tinyDisk } from '../helpers/faults.js';
import { CAT, FIXTURES } from '../helpers/paths.js';

const MODEL = join(FIXTURES, 'onnx', 'tiny_resnet.onnx');
const root = asRoot();

function photos(n: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'cnnviz-photos-'));
  for (let i = 1; i <= n; i++) copyFileSync(CAT, join(dir, `cat00${i}.jpg`));
  return dir;
}

root(
  'an immutable image folder: that image is reported and skipped, the others are drawn, exit 1 with the list',
  async () => {
    const out = mkdtempSync(join(tmpdir(), 'cnnviz-out-'));
    mkdirSync(join(out, 'cat002'));
    const undo = immutable(join(out, 'cat002'));
    try {
      const { code, stdout, stderr } = await cnnviz([
        'featuremaps',
        photos(3),
        '--model',
        MODEL,
        '--blocks',
        '1,2',
        '-o',
        out,
      ]);
      expect(code).toBe(1);
      expect(stderr).not.toMatch(/\n\s+at /);
      expect(stderr).toMatch(/skipping .*cat002\.jpg: cannot write in '.*cat002': operation not permitted .*\(EPERM\)/);
      expect(stderr).toMatch(/1 of 3 images failed \(.*cat002\.jpg\); the others were drawn\n$/);
      expect(stdout.trim().split('\n')).toHaveLength(4);
      // cat002 stays empty (no stamp either, so a rerun draws it); the others have their pictures and stamp.
      expect(filesBelow(out)).toEqual([
        'cat001',
        'cat001/.cnnviz.json',
        'cat001/layer1_layer1.0_relu_1_Relu.png',
        'cat001/relu_Relu.png',
        'cat002',
        'cat003',
        'cat003/.cnnviz.json',
        'cat003/layer1_layer1.0_relu_1_Relu.png',
        'cat003/relu_Relu.png',
      ]);
    } finally {
      undo();
    }
  },
);

root('a full disk stops the run with one line naming the folder, and leaves no temporary file', async () => {
  const disk = tinyDisk('24k');
  try {
    const out = join(disk.path, 'out');
    const { code, stdout, stderr } = await cnnviz([
      'featuremaps',
      photos(4),
      '--model',
      MODEL,
      '--blocks',
      'all',
      '-o',
      out,
    ]);
    expect(code).toBe(1);
    const lines = stderr
      .trim()
      .split('\n')
      .filter((l) => !l.includes('preprocessing:'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^cnnviz: cannot write in '.*out\/cat00\d': no space left on the device \(ENOSPC\); the run stopped \(\d+ files written before\)$/,
    );
    expect(stdout).toBe('');
    expect(filesBelow(out).filter((f) => f.includes('.cnnviz-tmp-'))).toEqual([]);
  } finally {
    disk.remove();
  }
});

root(
  'a full disk under a report names the file that did not fit, in one line, and leaves no temporary file',
  async () => {
    const disk = tinyDisk('40k');
    try {
      const out = join(disk.path, 'report');
      const { code, stderr } = await cnnviz(['report', CAT, '--model', MODEL, '-o', out]);
      expect(code).toBe(1);
      const lines = stderr
        .trim()
        .split('\n')
        .filter((l) => !l.includes('preprocessing:'));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(
        new RegExp(`^cnnviz: cannot write '${out}/[\\w.-]+\\.(png|html)': no space left on the device \\(ENOSPC\\)$`),
      );
      expect(filesBelow(out).filter((f) => f.includes('.cnnviz-tmp-'))).toEqual([]);
    } finally {
      disk.remove();
    }
  },
);

root('an output folder on a read-only device fails before any work, in words', async () => {
  const disk = tinyDisk('16k', true);
  try {
    for (const command of [
      ['featuremaps', CAT, '--model', MODEL],
      ['filters', '--model', MODEL],
    ]) {
      const { code, stderr } = await cnnviz([...command, '-o', join(disk.path, 'out')]);
      expect(code).toBe(1);
      expect(stderr).toMatch(/^cnnviz: cannot create output folder '.*out': the file system is read-only \(EROFS\)\n$/);
    }
  } finally {
    disk.remove();
  }
});
