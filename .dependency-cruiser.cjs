/**
 * The README's layering, held by dependency-cruiser: no cycles (types included), a room imports
 * only rooms below it, and the pure rooms (net/, render/) do no I/O. The rooms from the bottom:
 * base files (errors, config, folders, memory, schema, temp-files, timings, wasm), net, render and image,
 * output, weights, engines, graph, formats, pipeline, commands, and the entries (cli, index).
 */
const LEVELS = [
  '^src/(errors|config|folders|memory|schema|temp-files|timings|wasm)\\.ts$',
  '^src/net/',
  '^src/(render|image)/',
  '^src/output/',
  '^src/weights/',
  '^src/engines/',
  '^src/graph/',
  '^src/formats/',
  '^src/pipeline/',
  '^src/commands/',
  '^src/(cli|index|start)\\.ts$',
];

const upward = LEVELS.flatMap((from, i) =>
  LEVELS.slice(i + 1).map((to) => ({
    name: 'no-upward-import',
    comment: 'A room imports only rooms below it (see the README layout).',
    severity: 'error',
    from: { path: from },
    to: { path: to },
  })),
);

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-cycle',
      comment: 'No module imports one that imports it back, not even for types.',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    ...upward,
    {
      name: 'pure-rooms-do-no-io',
      comment: 'net/ and render/ compute; reading and writing live elsewhere.',
      severity: 'error',
      from: { path: '^src/(net|render)/' },
      to: { path: '^(fs|node:fs|fs/promises|node:fs/promises|child_process|node:child_process|http|node:http|https|node:https|net|node:net)$|node_modules/(sharp|onnxruntime-node|h5wasm|pngjs)/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'room-not-in-layout',
      comment: 'Every source file belongs to a room of the layout.',
      severity: 'error',
      from: { path: '^src/', pathNot: LEVELS.join('|') },
      to: {},
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    moduleSystems: ['es6', 'cjs'],
    exclude: { path: '^(dist|dist-bench|test|bench|docs)/' },
  },
};
