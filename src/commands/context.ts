/**
 * What every command gets from the top of the CLI: the global options and where to report.
 * Commands print; the core only returns values and calls callbacks.
 */
import { onnxCacheDir } from '../config.js';
import type { EngineName } from '../engines/backend.js';
import type { EngineRequest } from '../formats/types.js';
import type { DownloadCallbacks } from '../weights/resolve.js';

export interface Reporter {
  /** Results: the table, the list of written files. Goes to stdout. */
  out(line: string): void;
  /** Notices a user should see (a clamped count, random weights). Goes to stderr. */
  notice(line: string): void;
  /** Details shown under --verbose only. Goes to stderr. */
  verbose(line: string): void;
  /** True when stderr is a terminal: progress bars are drawn only then. */
  interactive: boolean;
}

export interface GlobalOptions {
  /** commander checks it against ENGINES, so it is one by the time a command runs. */
  backend: EngineName;
  verbose: boolean;
}

export interface CommandContext {
  global: GlobalOptions;
  report: Reporter;
}

/**
 * A line as a terminal should show it: control characters (a file named with ESC [ 2 J clears
 * the screen when printed raw) and line breaks written as \x1b, \n; the rest as it is.
 */
export function printable(line: string): string {
  // eslint-disable-next-line no-control-regex
  return line.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) =>
    c === '\n' ? '\\n' : c === '\t' ? '\t' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );
}

export function consoleReporter(verbose: boolean): Reporter {
  return {
    out: (line) => process.stdout.write(`${printableLines(line)}\n`),
    notice: (line) => process.stderr.write(`cnnviz: ${printable(line)}\n`),
    verbose: (line) => {
      if (verbose) process.stderr.write(`cnnviz: ${printable(line)}\n`);
    },
    interactive: Boolean(process.stderr.isTTY),
  };
}

/** Output that is meant to span lines (a table, JSON) keeps its line breaks; each line is made printable. */
const printableLines = (text: string): string => text.split('\n').map(printable).join('\n');

/** What a command asks of an engine: the backend, the weights, where prepared models are kept, and where to say things. */
export async function engineRequest(
  ctx: CommandContext,
  weights: string,
  download?: DownloadCallbacks,
): Promise<EngineRequest> {
  return {
    engine: ctx.global.backend,
    weights,
    onnxCacheDir: await onnxCacheDir(),
    explain: ctx.report.verbose,
    notice: ctx.report.notice,
    download,
  };
}

/** How cli.ts runs a command's action: with the context built from the global options. */
export type Runner = (action: (ctx: CommandContext) => Promise<void>) => Promise<void>;
