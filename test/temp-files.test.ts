/**
 * Only cnnviz's own temporaries are ever removed as leftovers: files and folders a user named
 * like a temporary (`thesis.2024.tmp`, `notes.1.part`, `photos.2019.tmp/`) stay, whatever
 * process number their name seems to hold.
 */
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pidOfTemp, removeDeadTemps, tempPathFor } from '../src/temp-files.js';
import { cnnviz } from './helpers/cli.js';
import { FIXTURES } from './helpers/paths.js';

const tmp = (name: string) => mkdtempSync(join(tmpdir(), `cnnviz-${name}-`));
/** A process id no process has (above Linux's pid_max of 4194304). */
const DEAD = 4999999;

const usersFiles = (dir: string) => {
  writeFileSync(join(dir, 'thesis.2024.tmp'), 'chapter 1');
  writeFileSync(join(dir, `notes.${DEAD}.part`), 'notes');
  writeFileSync(join(dir, `draft.${DEAD}.0a1b2c3d.tmp`), 'the old leftover shape');
  mkdirSync(join(dir, 'photos.2019.tmp'));
  writeFileSync(join(dir, 'photos.2019.tmp', 'a.jpg'), 'a photo');
};

test("a temporary name carries cnnviz's prefix, the pid and a random part; no other name is one", () => {
  const path = tempPathFor('/out/cat-block1_conv2.png');
  expect(path).toMatch(new RegExp(`^/out/\\.cnnviz-tmp-${process.pid}-[0-9a-f]{8}-cat-block1_conv2\\.png$`));
  expect(pidOfTemp(path.slice(5))).toBe(process.pid);
  for (const name of [
    'thesis.2024.tmp',
    `notes.${DEAD}.part`,
    `a.png.${DEAD}.0a1b2c3d.tmp`,
    `.cnnviz-tmp-${DEAD}`,
    `cnnviz-tmp-${DEAD}-0a1b2c3d`,
  ]) {
    expect(pidOfTemp(name)).toBeUndefined();
  }
  // A target's long name is cut, so the temporary is never longer than a file name may be.
  expect(tempPathFor(`/out/${'x'.repeat(255)}`).length).toBeLessThan(5 + 80);
});

test("removing dead runs' leftovers keeps every file and folder cnnviz did not name", async () => {
  const dir = tmp('user-files');
  usersFiles(dir);
  mkdirSync(join(dir, 'sub', 'sources'), { recursive: true });
  writeFileSync(join(dir, 'sub', 'sources', `.cnnviz-tmp-${DEAD}-0a1b2c3d-x.png`), 'dead');
  writeFileSync(join(dir, `.cnnviz-tmp-${process.pid}-0a1b2c3d-live.png`), 'live');
  await removeDeadTemps(dir, 2);
  expect(readdirSync(dir).sort()).toEqual([
    `.cnnviz-tmp-${process.pid}-0a1b2c3d-live.png`,
    `draft.${DEAD}.0a1b2c3d.tmp`,
    `notes.${DEAD}.part`,
    'photos.2019.tmp',
    'sub',
    'thesis.2024.tmp',
  ]);
  expect(readdirSync(join(dir, 'photos.2019.tmp'))).toEqual(['a.jpg']);
  expect(readdirSync(join(dir, 'sub', 'sources'))).toEqual([]);
});

test("a run writing into a folder of the user's files leaves them all", async () => {
  const out = tmp('user-out');
  usersFiles(out);
  const result = await cnnviz([
    'featuremaps',
    join(FIXTURES, 'onnx', 'cat64.png'),
    '--model',
    join(FIXTURES, 'onnx', 'tiny_resnet.onnx'),
    '--layer',
    '/relu/Relu',
    '-o',
    out,
  ]);
  expect(result.stderr).not.toContain('unexpected');
  expect(result.code).toBe(0);
  expect(readdirSync(out).sort()).toEqual([
    'cat64-relu_Relu.png',
    `draft.${DEAD}.0a1b2c3d.tmp`,
    `notes.${DEAD}.part`,
    'photos.2019.tmp',
    'thesis.2024.tmp',
  ]);
  expect(readdirSync(join(out, 'photos.2019.tmp'))).toEqual(['a.jpg']);
});
