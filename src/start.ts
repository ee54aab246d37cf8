/**
 * What starts before the CLI itself loads: a command that decodes or draws pictures gets
 * sharp loading on its worker thread at once, beside the 40-60 ms the CLI's modules take to
 * load and the model's set-up after them, so that the first image is ready when they are.
 */
import { startImageWorker } from './image/sharp.js';

/** The subcommands that decode or encode images (all but summary). */
const PICTURE_COMMANDS = new Set(['featuremaps', 'filters', 'report', 'examples', 'cam', 'saliency', 'maximize']);

/** Starts the image worker when the command line names a picture command; unneeded, it only exits with the process. */
export function startEarly(argv: string[]): void {
  const command = argv.slice(2).find((arg) => !arg.startsWith('-') && PICTURE_COMMANDS.has(arg));
  if (command && !argv.includes('--help') && !argv.includes('-h')) startImageWorker();
}
