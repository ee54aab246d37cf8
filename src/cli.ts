/**
 * The command line: commander wiring only. Each subcommand lives in commands/; this file
 * turns what they throw into one line on stderr and an exit code.
 */
import { Command, CommanderError, Option } from 'commander';
import { createRequire } from 'node:module';
import { CnnvizError, fileSystemReason } from './errors.js';
import { removeTempFilesSync, runInterruptActionsSync } from './temp-files.js';
import { ENGINES } from './engines/backend.js';
import { BACKEND_VARIABLE, unsetEmptyBackend } from './config.js';
import { markStartup, writeTimingsIfAsked } from './timings.js';
import { consoleReporter, printable, type CommandContext, type GlobalOptions } from './commands/context.js';
import { summaryCommand } from './commands/summary.js';
import { filtersCommand } from './commands/filters.js';
import { featuremapsCommand } from './commands/featuremaps.js';
import { reportCommand } from './commands/report.js';
import { examplesCommand } from './commands/examples.js';
import { camCommand } from './commands/cam.js';
import { saliencyCommand } from './commands/saliency.js';
import { maximizeCommand } from './commands/maximize.js';
import { describeEngine } from './engines/forward.js';
import { lanesSettled } from './engines/onnx-lanes.js';

const { version } = createRequire(import.meta.url)('../package.json') as { version: string };

export function buildProgram(): Command {
  const program = new Command('cnnviz');
  const run = async (action: (ctx: CommandContext) => Promise<void>): Promise<void> => {
    markStartup();
    const global = program.opts<GlobalOptions>();
    await action({ global, report: consoleReporter(global.verbose) });
  };
  program
    .description(
      'See inside convolutional neural networks: layer summaries, learned filters, feature maps, why a prediction was made (cam, saliency) and what a channel responds to (examples, maximize), as PNG.',
    )
    .addOption(
      new Option(
        '--backend <name>',
        'engine for forward passes: auto takes onnx, then tensorflow (tfjs-node), then wasm',
      )
        .choices(ENGINES)
        .default('auto')
        .env(BACKEND_VARIABLE),
    )
    .option('-v, --verbose', 'explain what is happening; show stack traces on errors', false)
    .option('-V, --version', 'print the version (with --verbose: and the active backend)')
    .showSuggestionAfterError()
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(text.startsWith('error:') ? `cnnviz: ${text}` : text) })
    .action(async () => {
      const global = program.opts<GlobalOptions & { version?: boolean }>();
      if (!global.version) {
        program.help({ error: true });
        return;
      }
      process.stdout.write(`cnnviz ${version}\n`);
      if (global.verbose) {
        const report = consoleReporter(true);
        report.verbose(`backend: ${await describeEngine(global.backend, report.verbose)}`);
      }
    });
  program.addCommand(summaryCommand(run));
  program.addCommand(filtersCommand(run));
  program.addCommand(featuremapsCommand(run));
  program.addCommand(reportCommand(run));
  program.addCommand(examplesCommand(run));
  program.addCommand(camCommand(run));
  program.addCommand(saliencyCommand(run));
  program.addCommand(maximizeCommand(run));
  // Subcommands report usage errors the same way as the program.
  for (const command of program.commands) {
    command.exitOverride().configureOutput({
      outputError: (text, write) => write(`cnnviz ${command.name()}: ${text.replace(/^error: /, '')}`),
    });
  }
  return program;
}

/**
 * Exits once the forward lanes are between passes (at once when none runs one: a lane's
 * thread stopped mid-pass would abort the process). Writes that began meanwhile may have
 * left temporary files: they go too.
 */
function exitBesideLanes(code: number): void {
  void lanesSettled().finally(() => {
    removeTempFilesSync();
    process.exit(code);
  });
}

/**
 * Ends the process with `code` once what it printed is out, without waiting for the event loop
 * to empty: that wait let timers fire that a command's end has no use for (releasing a forward
 * session, 7-8 ms of a one-image run), and the process's memory goes back with it in any case.
 */
export async function exitWhenWritten(code: number): Promise<void> {
  await lanesSettled();
  const written = (stream: NodeJS.WriteStream) => new Promise<void>((resolve) => stream.write('', () => resolve()));
  await Promise.all([written(process.stdout), written(process.stderr)]);
  // A write a failed command left under way would not clean up after itself: its temporary goes here.
  removeTempFilesSync();
  process.exit(code);
}

/** Runs the CLI and returns the exit code: 0 done, 1 runtime failure, 2 usage error. */
export async function main(argv: string[]): Promise<number> {
  // Ctrl-C or a kill: the terminal gets its cursor and line wrap back (a progress bar hides
  // them), this run's temporary files go, and the exit code says which signal it was.
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    process.once(signal, () => {
      const unsaved = runInterruptActionsSync();
      removeTempFilesSync();
      if (process.stderr.isTTY) process.stderr.write('\x1b[?25h\x1b[?7h\n');
      process.stderr.write(
        `cnnviz: interrupted (${signal}); files written so far are complete, a batch run again continues where it stopped\n`,
      );
      for (const failure of unsaved)
        process.stderr.write(`cnnviz: the progress since the last save could not be saved: ${printable(failure)}\n`);
      exitBesideLanes(code);
    });
  }
  // A reader that stops early (`cnnviz summary | head -1`) closes the pipe: end quietly, as ls does.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') exitBesideLanes(0);
    else throw err;
  });
  unsetEmptyBackend();
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    const verbose = process.argv.includes('--verbose') || process.argv.includes('-v');
    if (err instanceof CommanderError) {
      // commander has printed its message already; help asked for is not a failure.
      return err.exitCode === 0 ? 0 : 2;
    }
    if (err instanceof CnnvizError) {
      process.stderr.write(`cnnviz: ${printable(err.message)}\n`);
      if (verbose && err.stack) process.stderr.write(`${err.stack}\n`);
      return err.exitCode;
    }
    const system = err as NodeJS.ErrnoException;
    if (system?.code && system.syscall) {
      // A file-system failure nothing above caught (a full disk under a report, say): in words.
      process.stderr.write(
        `cnnviz: cannot ${system.syscall} '${printable(system.path ?? '?')}': ${fileSystemReason(err)}\n`,
      );
      if (verbose && system.stack) process.stderr.write(`${system.stack}\n`);
      return 1;
    }
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(
      `cnnviz: unexpected error: ${printable(message.split('\n')[0])}${verbose ? '' : ' (run with --verbose for details)'}\n`,
    );
    if (verbose && err instanceof Error) process.stderr.write(`${err.stack}\n`);
    return 1;
  } finally {
    writeTimingsIfAsked();
  }
}
