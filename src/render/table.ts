/**
 * Keras-style text tables: columns are data (header and alignment), rows are string[][],
 * and one renderer lays them out between `_` and `=` rules.
 */
import type { ConvRow, ModelSummary } from '../net/summary.js';

export interface Column {
  header: string;
  align: 'left' | 'right';
}

export const thousands = (n: number): string => n.toLocaleString('en-US');

export function renderTable(columns: Column[], rows: string[][], gap = 2): string[] {
  const widths = columns.map((c, i) => Math.max(c.header.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]): string =>
    cells
      .map((cell, i) => (columns[i].align === 'right' ? cell.padStart(widths[i]) : cell.padEnd(widths[i])))
      .join(' '.repeat(gap))
      .trimEnd();
  const total = widths.reduce((a, b) => a + b, 0) + gap * (columns.length - 1);
  return [
    '_'.repeat(total),
    line(columns.map((c) => c.header)),
    '='.repeat(total),
    ...rows.map(line),
    '='.repeat(total),
  ];
}

/** The totals under a summary: what the format knows (ONNX files have no trainable flag). */
export function totalRows(summary: ModelSummary): Array<[label: string, value: number]> {
  const rows: Array<[string, number]> = [['Total params', summary.totalParams]];
  if (summary.trainableParams !== undefined) rows.push(['Trainable params', summary.trainableParams]);
  if (summary.nonTrainableParams !== undefined) rows.push(['Non-trainable params', summary.nonTrainableParams]);
  if (summary.quantizedParams !== undefined) rows.push(['Quantized params (int8, uint8)', summary.quantizedParams]);
  return rows;
}

/** Names in one line: all of them, or under `verbose` false the first few and how many more. */
export function nameList(names: string[], verbose: boolean, shown = 5): string {
  if (verbose || names.length <= shown) return names.join(', ');
  return `${names.slice(0, shown).join(', ')} … and ${thousands(names.length - shown)} more; --verbose lists them`;
}

export function renderSummary(summary: ModelSummary, { verbose = false }: { verbose?: boolean } = {}): string[] {
  const columns: Column[] = [
    { header: '#', align: 'right' },
    { header: 'Layer (type)', align: 'left' },
    { header: 'Output Shape', align: 'left' },
    { header: 'Param #', align: 'right' },
    { header: 'Stage', align: 'left' },
  ];
  // Keras adds "Connected to" for models that are not a plain chain of layers.
  if (!summary.sequential) columns.push({ header: 'Connected to', align: 'left' });
  const rows = summary.rows.map((r) => {
    const name = `${'  '.repeat(r.depth)}${r.depth > 0 ? '└ ' : ''}${r.name} (${r.type})`;
    const cells = [
      r.index === null ? '' : String(r.index),
      name,
      r.outputShape,
      r.params === null ? '?' : thousands(r.params),
      r.stage ? `end of ${r.stage}` : '',
    ];
    if (!summary.sequential) cells.push(r.depth > 0 ? '' : r.connectedTo.join(', '));
    return cells;
  });
  const lines = [`Model: "${summary.name}"`, ...renderTable(columns, rows)];
  lines.push(...totalRows(summary).map(([label, value]) => `${label}: ${thousands(value)}`));
  if (summary.unknownLayers.length > 0) {
    // Keras layers of an unknown class have no count; an ONNX node's parameters are always known.
    const uncounted = summary.rows.some((r) => r.params === null);
    lines.push(
      `(? = unknown to cnnviz${uncounted ? ', left out of the totals' : ''}: ${nameList(summary.unknownLayers, verbose)})`,
    );
  }
  const stages = summary.rows.filter((r) => r.stage).length;
  lines.push(
    stages > 0
      ? `Stages (--blocks): ${stages}, each ending at its resolution's last layer on the main path`
      : 'Stages (--blocks): none',
  );
  return lines;
}

export function renderConvolutions(modelName: string, rows: ConvRow[]): string[] {
  const columns: Column[] = [
    { header: '#', align: 'right' },
    { header: 'Layer', align: 'left' },
    { header: 'Kernel', align: 'left' },
    { header: 'Output Shape', align: 'left' },
  ];
  return [
    `Model: "${modelName}" (convolutional layers)`,
    ...renderTable(
      columns,
      rows.map((r) => [String(r.index), r.name, r.kernelShape, r.outputShape]),
    ),
  ];
}
