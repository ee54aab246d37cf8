import { Command } from 'commander';
import type { CommandContext, Runner } from './context.js';
import { addModelOptions, type ModelOptions, examples } from './options.js';
import { cacheDir } from '../config.js';

// The command's work loads when it runs: importing the pipelines (and what they load) at start-up
// costs about 100 ms of every `cnnviz --help` (measured 0.10 s against 0.20 s).

/** The command's flags as commander gives them. */
interface SummaryFlags extends ModelOptions {
  top: boolean;
  conv: boolean;
  json: boolean;
}

export function summaryCommand(run: Runner): Command {
  const command = new Command('summary')
    .description("print the model's layers, output shapes and parameter counts, as Keras' model.summary() does")
    .option('--no-top', 'leave out the classifier (flatten, fc1, fc2, predictions), as include_top=False')
    .option('--conv', 'list only the convolutional layers, with their kernel shapes')
    .option('--json', 'print the summary as JSON');
  addModelOptions(command)
    .addHelpText('after', examples(['cnnviz summary', 'cnnviz summary --no-top --json', 'cnnviz summary --conv']))
    .action((options: SummaryFlags) => run((ctx) => summary(options, ctx)));
  return command;
}

async function summary(options: SummaryFlags, ctx: CommandContext): Promise<void> {
  // Only the architecture: no weights, no engine. The table needs neither.
  const { openModel } = await import('../formats/model.js');
  const { summarize, convolutionRows } = await import('../net/summary.js');
  const { renderSummary, renderConvolutions } = await import('../render/table.js');
  const { net, details } = await openModel(options.model, {
    includeTop: options.top,
    size: options.size,
    inputs: options.input,
    cacheDir: await cacheDir(),
  });
  details.forEach(ctx.report.verbose);
  if (options.conv) {
    const rows = convolutionRows(net);
    if (options.json) ctx.report.out(JSON.stringify({ model: net.name, layers: rows }, null, 2));
    else renderConvolutions(net.name, rows).forEach(ctx.report.out);
    return;
  }
  const result = summarize(net);
  if (options.json) ctx.report.out(JSON.stringify(result, null, 2));
  else renderSummary(result, { verbose: ctx.global.verbose }).forEach(ctx.report.out);
}
