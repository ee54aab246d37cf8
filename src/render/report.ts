/**
 * The report page: one self-contained index.html beside its PNGs (relative paths, no network,
 * no script needed), showing the input as the model saw it, the summary table, the first
 * layer's filters, and every chosen layer's mosaic with its numbers. Each tile carries a
 * transparent box whose title (and caption on hover) names its channel.
 */
import type { ModelSummary } from '../net/summary.js';
import { thousands, totalRows } from './table.js';

export interface ReportLayer {
  name: string;
  outputShape: string;
  /** The PNG beside index.html. */
  image: string;
  imageSize: [width: number, height: number];
  shown: number;
  total: number;
  normalize: string;
  meanActivation: number;
  deadShare: number;
  /** Each tile's channel and box in image pixels: [channel, left, top, width, height]. */
  tiles: Array<[number, number, number, number, number]>;
}

export interface ReportData {
  title: string;
  model: string;
  weights: string;
  engine: string;
  input: { image: string; source: string; width: number; height: number; preprocessing: string };
  summary: ModelSummary;
  filters?: { image: string; layer: string; caption: string };
  layers: ReportLayer[];
  /** Dataset examples of `cnnviz examples` runs, linked (their pictures stay where they are). */
  examples?: ReportExamples[];
}

export interface ReportExamples {
  layer: string;
  score: string;
  images: number;
  top: number;
  overview: string;
  channels: Array<{ channel: number; picture: string; best?: number }>;
}

function examplesSection(e: ReportExamples): string {
  const links = e.channels
    .map((c) => `<a href="${escape(c.picture)}">${c.channel}</a>${c.best === undefined ? '' : ` <span class="score">${c.best.toPrecision(3)}</span>`}`)
    .join(' · ');
  return `<section class="examples" id="examples-${escape(e.layer)}">
<h3>${escape(e.layer)}</h3>
<p>For each channel, the ${e.top} of ${e.images} images that excite it most (by the ${e.score === 'mean' ? 'mean' : 'largest'} activation of its map), cropped to what the channel sees. A row per channel; open a channel for its picture.</p>
<figure><a href="${escape(e.overview)}"><img src="${escape(e.overview)}" alt="dataset examples of ${escape(e.layer)}"></a></figure>
<p class="channels">Channels (best score): ${links}</p>
</section>`;
}

const escape = (text: string): string =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const percent = (part: number, whole: number): string => `${((100 * part) / whole).toFixed(4)}%`;

function summaryTable(summary: ModelSummary): string {
  const rows = summary.rows
    .map(
      (r) =>
        `<tr${r.depth ? ' class="inner"' : ''}><td>${r.index ?? ''}</td><td>${escape(`${'  '.repeat(r.depth)}${r.name}`)}</td><td>${escape(r.type)}</td>` +
        `<td>${escape(r.outputShape)}</td><td class="num">${r.params === null ? '?' : thousands(r.params)}</td></tr>`,
    )
    .join('\n');
  return `<table class="summary"><thead><tr><th>#</th><th>Layer</th><th>Type</th><th>Output shape</th><th>Param #</th></tr></thead>
<tbody>
${rows}
</tbody>
<tfoot>${totalRows(summary)
    .map(([label, value]) => `<tr><td colspan="4">${label}</td><td class="num">${thousands(value)}</td></tr>`)
    .join('\n')}</tfoot></table>`;
}

function layerSection(layer: ReportLayer): string {
  const [width, height] = layer.imageSize;
  const boxes = layer.tiles
    .map(
      ([channel, left, top, w, h]) =>
        `<span class="tile" data-channel="${channel}" title="channel ${channel}" style="left:${percent(left, width)};top:${percent(top, height)};width:${percent(w, width)};height:${percent(h, height)}"><span>${channel}</span></span>`,
    )
    .join('');
  return `<section class="layer" id="layer-${escape(layer.name)}">
<h3>${escape(layer.name)} <small>${escape(layer.outputShape)}</small></h3>
<p class="stats">${layer.shown} of ${layer.total} maps shown &middot; normalised per ${escape(layer.normalize)} &middot; mean activation ${layer.meanActivation.toPrecision(4)} &middot; dead maps ${(100 * layer.deadShare).toFixed(1)}%</p>
<div class="mosaic"><img src="${escape(layer.image)}" width="${width}" height="${height}" alt="feature maps of ${escape(layer.name)}">${boxes}</div>
</section>`;
}

export function reportHtml(data: ReportData): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(data.title)}</title>
<style>
body { font: 15px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 1200px; padding: 0 1rem; color: #222; }
h1 { font-size: 1.5rem; } h2 { margin-top: 2.5rem; border-bottom: 1px solid #ddd; } small { color: #666; font-weight: normal; }
table.summary { border-collapse: collapse; font: 13px/1.3 ui-monospace, monospace; }
table.summary td, table.summary th { padding: 2px 10px; border-bottom: 1px solid #eee; text-align: left; white-space: pre; }
table.summary .num { text-align: right; } table.summary tfoot td { font-weight: bold; } tr.inner td { color: #666; }
.mosaic { position: relative; display: inline-block; max-width: 100%; }
.mosaic img { display: block; max-width: 100%; height: auto; image-rendering: pixelated; }
.tile { position: absolute; } .tile span { display: none; position: absolute; left: 2px; top: 2px; background: #000c; color: #fff; font: 11px ui-monospace, monospace; padding: 0 3px; }
.tile:hover { outline: 2px solid #e33; } .tile:hover span { display: block; }
.examples img { max-width: 100%; } .channels { line-height: 1.8; } .score { color: #888; font-size: 12px; }
figure { display: inline-block; margin: 0 2rem 1rem 0; vertical-align: top; } figcaption { color: #555; font-size: 13px; }
img.input { image-rendering: pixelated; width: ${Math.max(224, data.input.width)}px; height: auto; }
</style>
</head>
<body>
<h1>${escape(data.title)}</h1>
<p>Model <b>${escape(data.model)}</b>, weights ${escape(data.weights)}, computed with ${escape(data.engine)}.</p>
<h2 id="input">Input</h2>
<figure><img class="input" src="${escape(data.input.image)}" alt="the input as the model saw it"><figcaption>${escape(data.input.source)}, as the model saw it: ${data.input.width}x${data.input.height}, preprocessing ${escape(data.input.preprocessing)}</figcaption></figure>
<h2 id="summary">Layers</h2>
${summaryTable(data.summary)}
${data.filters ? `<h2 id="filters">Filters of ${escape(data.filters.layer)}</h2>\n<figure><img src="${escape(data.filters.image)}" alt="filters of ${escape(data.filters.layer)}"><figcaption>${escape(data.filters.caption)}</figcaption></figure>` : ''}
<h2 id="maps">Feature maps</h2>
<p>Hover over a map to see its channel.</p>
${data.layers.map(layerSection).join('\n')}
${data.examples?.length ? `<h2 id="examples">Dataset examples</h2>\n${data.examples.map(examplesSection).join('\n')}` : ''}
</body>
</html>
`;
}
