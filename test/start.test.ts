/** What starts before the CLI loads: sharp's worker for the commands that use pictures, and only for them. */
import { buildProgram } from '../src/cli.js';
import { PICTURE_COMMANDS, picturesAhead } from '../src/start.js';

test("the picture commands are the CLI's commands but summary", () => {
  const names = buildProgram().commands.map((c) => c.name());
  expect([...PICTURE_COMMANDS].sort()).toEqual(names.filter((n) => n !== 'summary').sort());
});

test.each([
  [['featuremaps', 'cat.jpg'], true],
  [['--backend', 'onnx', 'cam', 'cat.jpg'], true],
  [['summary', '--model', 'featuremaps'], false],
  [['featuremaps', '--help'], false],
  [['--version'], false],
])('%j starts the image worker: %s', (args, expected) => {
  expect(picturesAhead(['node', 'cnnviz', ...args])).toBe(expected);
});
