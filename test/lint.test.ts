/**
 * The lint rules themselves, on small planted trees: a cycle, an upward import, I/O in a pure
 * room and an empty catch each fail `npm run lint`'s checks; the clean tree passes.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ROOT } from './helpers/paths.js';

function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'cnnviz-lint-'));
  const all = {
    'tsconfig.json': JSON.stringify({
      compilerOptions: { module: 'node16', moduleResolution: 'node16', strict: true },
    }),
    ...files,
  };
  for (const [path, text] of Object.entries(all)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

function run(tool: string, args: string[], cwd: string): { code: number; out: string } {
  try {
    const out = execFileSync(process.execPath, [join(ROOT, 'node_modules', ...tool.split('/')), ...args], {
      cwd,
      encoding: 'utf8',
      stdio: 'pipe',
    });
    return { code: 0, out };
  } catch (err) {
    const e = err as { status: number; stdout: string; stderr: string };
    return { code: e.status, out: e.stdout + e.stderr };
  }
}

const cruise = (dir: string) =>
  run('dependency-cruiser/bin/dependency-cruise.mjs', ['src', '--config', join(ROOT, '.dependency-cruiser.cjs')], dir);
const CLEAN = {
  'src/net/shape.ts': 'export const area = (h: number, w: number): number => h * w;\n',
  'src/pipeline/job.ts': "import { area } from '../net/shape.js';\nexport const job = (): number => area(2, 3);\n",
};

test('the clean tree passes', () => {
  expect(cruise(tree(CLEAN))).toMatchObject({ code: 0 });
});

test.each([
  [
    'a cycle',
    {
      'src/net/a.ts': "import { b } from './b.js';\nexport const a = (): number => b();\n",
      'src/net/b.ts':
        "import type { a } from './a.js';\nexport const b = (): number => 1;\nexport type A = typeof a;\n",
    },
    'no-cycle',
  ],
  [
    'an upward import',
    { 'src/net/up.ts': "import { job } from '../pipeline/job.js';\nexport const up = (): number => job();\n" },
    'no-upward-import',
  ],
  [
    'I/O in render/',
    {
      'src/render/read.ts':
        "import { readFileSync } from 'node:fs';\nexport const read = (p: string): Buffer => readFileSync(p);\n",
    },
    'pure-rooms-do-no-io',
  ],
  [
    'a file outside the layout',
    { 'src/misc/x.ts': "import { area } from '../net/shape.js';\nexport const x = area(1, 1);\n" },
    'room-not-in-layout',
  ],
])('%s fails dependency-cruiser, naming the rule', (_name, planted, rule) => {
  const { code, out } = cruise(tree({ ...CLEAN, ...planted }));
  expect(code).not.toBe(0);
  expect(out).toContain(rule);
});

test('an empty catch, even one holding a comment, fails ESLint; one that says the failure passes', () => {
  const dir = tree({
    'src/bad.ts':
      'export function f(): void {\n  try {\n    JSON.parse("x");\n  } catch {\n    // nothing to see\n  }\n}\n',
    'src/good.ts':
      'export function g(say: (s: string) => void): void {\n  try {\n    JSON.parse("x");\n  } catch (err) {\n    say(String(err));\n  }\n}\n',
  });
  const eslint = (file: string) => run('eslint/bin/eslint.js', ['--config', join(ROOT, 'eslint.config.js'), file], dir);
  const bad = eslint('src/bad.ts');
  expect(bad.code).toBe(1);
  expect(bad.out).toContain('An empty catch swallows the failure');
  expect(eslint('src/good.ts')).toMatchObject({ code: 0 });
});
