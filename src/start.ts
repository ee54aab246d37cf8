/**
 * What starts before the CLI itself loads: a command that decodes or draws pictures gets
 * sharp loading on its worker thread at once, beside the 40-60 ms the CLI's modules take to
 * load and the model's set-up after them, so that the first image is ready when they are.
 * (Elsewhere, the library's calls among them, the worker starts with the first image asked for.)
 */
import { startImageWorker } from './image/sharp.js';

/** The subcommands that decode or encode images: all but summary (a test holds this to cli.ts). */
export const PICTURE_COMMANDS: ReadonlySet<string> = new Set([
  'featuremaps',
  'filters',
  'report',
  'examples',
  'cam',
  'saliency',
  'maximize',
]);
const COMMANDS = new Set([...PICTURE_COMMANDS, 'summary']);

/** Whether the command line runs a picture command (not its help): the first command name among the words, as a value before it (--backend onnx) is none. */
export function picturesAhead(argv: string[]): boolean {
  const command = argv.slice(2).find((arg) => COMMANDS.has(arg));
  return command !== undefined && PICTURE_COMMANDS.has(command) && !argv.includes('--help') && !argv.includes('-h');
}

export function startEarly(argv: string[]): void {
  if (picturesAhead(argv)) startImageWorker();
}
