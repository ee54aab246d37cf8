/**
 * What every command gets from the top of the CLI: the global options and where to report.
 * Commands print; the core only returns values and calls callbacks.
 */
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
  backend: string;
  verbose: boolean;
}

export interface CommandContext {
  global: GlobalOptions;
  report: Reporter;
}

export function consoleReporter(verbose: boolean): Reporter {
  return {
    out: (line) => process.stdout.write(`${line}\n`),
    notice: (line) => process.stderr.write(`cnnviz: ${line}\n`),
    verbose: (line) => {
      if (verbose) process.stderr.write(`cnnviz: ${line}\n`);
    },
    interactive: Boolean(process.stderr.isTTY),
  };
}

/** How cli.ts runs a command's action: with the context built from the global options. */
export type Runner = (action: (ctx: CommandContext) => Promise<void>) => Promise<void>;
