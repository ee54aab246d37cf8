/**
 * Option parsers shared by the subcommands. Each throws commander's InvalidArgumentError,
 * which commander reports as a usage error (exit 2) naming the option.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!/^\s*\d+\s*$/.test(value) || !Number.isSafeInteger(n) || n < 1) {
    throw new InvalidArgumentError(`expected a whole number of 1 or more, got '${value}'`);
  }
  return n;
}

/** A count that may also be 'all'; `Infinity` stands for all. */
export function countOrAll(value: string): number {
  return value === 'all' ? Infinity : positiveInt(value);
}

export function choice<T extends string>(choices: readonly T[]) {
  return (value: string): T => {
    if (!choices.includes(value as T)) throw new InvalidArgumentError(`expected one of ${choices.join(', ')}, got '${value}'`);
    return value as T;
  };
}

/** --model and --weights, which every subcommand that reads a model takes. */
export function addModelOptions(command: Command): Command {
  return command
    .addOption(new Option('-m, --model <name|path>', 'built-in model name (vgg16, vgg19)').default('vgg16'))
    .addOption(
      new Option('-w, --weights <imagenet|none|path>', "'imagenet' (found or downloaded once), 'none' (seeded random), or a Keras .h5 file").default(
        'imagenet',
      ),
    );
}

export function examples(lines: string[]): string {
  return `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`;
}
