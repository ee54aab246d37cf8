/**
 * The embedded WebAssembly modules are their .wat sources as wabt assembles them: checked here,
 * or, with CNNVIZ_WRITE_WASM=1, written (the .ts file holding the base64) instead of checked.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import wabtInit from 'wabt';
import { ROOT } from './paths.js';

/** Checks (or writes) src/<folder>/<name>-wasm.ts, exporting `constant`, against src/<folder>/<name>.wat. */
export async function expectAssembled(wat: string, constant: string, embedded: string): Promise<void> {
  const source = join(ROOT, 'src', wat);
  const name = basename(wat, '.wat');
  const wabt = await wabtInit();
  const parsed = wabt.parseWat(`${name}.wat`, readFileSync(source, 'utf8'));
  parsed.validate();
  const assembled = Buffer.from(parsed.toBinary({}).buffer).toString('base64');
  if (process.env.CNNVIZ_WRITE_WASM === '1')
    writeFileSync(
      source.replace(/\.wat$/, '-wasm.ts'),
      `// Generated from ${name}.wat by test/${wat.replace(/\.wat$/, '')}.test.ts (CNNVIZ_WRITE_WASM=1): do not edit.\nexport const ${constant} =\n  '${assembled}';\n`,
    );
  else expect(embedded).toBe(assembled);
}
