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
  /** For a model with a class output: its top 5 and the top class's Grad-CAM. */
  prediction?: ReportPrediction;
  /** Feature visualizations of `cnnviz maximize` runs, linked. */
  maximize?: ReportMaximize[];
}

export interface ReportMaximize {
  layer: string;
  objective: string;
  overview: string;
  /** Each channel's picture and objective from the start to the end; its dataset examples where given. */
  channels: Array<{ channel: number; picture: string; start: number; final: number; examples?: string }>;
  note?: string;
}

export interface ReportPrediction {
  top: Array<{ index: number; name?: string; probability: number }>;
  /** The Grad-CAM over the image (a PNG beside index.html), and the layer it weighs. */
  cam: string;
  layer: string;
}

export interface ReportExamples {
  layer: string;
  score: string;
  images: number;
  top: number;
  overview: string;
  channels: Array<{ channel: number; picture: string; best?: number | null }>;
  /** Said above the section: examples of another model than the report's, say. */
  note?: string;
}

/** Markup that is already safe: what `html` made, passed through as it is. */
class Markup {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

const escape = (text: string): string =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

type Value = Markup | string | number | boolean | null | undefined | Markup[];

/**
 * HTML from a template whose every value is escaped (text and attributes alike), whatever its
 * source: a layer name, a file name, a value from examples.json. Only markup made by `html`
 * itself passes through, so no string can become markup by accident.
 */
function html(strings: TemplateStringsArray, ...values: Value[]): Markup {
  const part = (v: Value): string =>
    v instanceof Markup
      ? v.text
      : Array.isArray(v)
        ? v.map(part).join('')
        : v === null || v === undefined
          ? ''
          : escape(String(v));
  return new Markup(strings.reduce((out, s, i) => out + s + (i < values.length ? part(values[i]) : ''), ''));
}

const join = (items: Markup[], separator: string): Markup => new Markup(items.map((m) => m.text).join(separator));

/** A number for the page: its significant digits, or 'n/a' where it is not finite. */
const precise = (value: number | null | undefined, digits: number): string =>
  typeof value === 'number' && Number.isFinite(value) ? value.toPrecision(digits) : 'n/a';

function examplesSection(e: ReportExamples): Markup {
  const links = e.channels.map(
    (c) =>
      html`<a href="${c.picture}">${c.channel}</a>${c.best === undefined ? '' : html` <span class="score">${precise(c.best, 3)}</span>`}`,
  );
  return html`<section class="examples" id="examples-${e.layer}">
<h3>${e.layer}</h3>
${e.note ? html`<p class="note">${e.note}</p>` : ''}
<p>For each channel, the ${e.top} of ${e.images} images that excite it most (by the ${e.score === 'mean' ? 'mean' : 'largest'} activation of its map), cropped to what the channel sees. A row per channel; open a channel for its picture.</p>
<figure><a href="${e.overview}"><img src="${e.overview}" alt="dataset examples of ${e.layer}"></a></figure>
<p class="channels">Channels (best score): ${join(links, ' · ')}</p>
</section>`;
}

function maximizeSection(m: ReportMaximize): Markup {
  const rows = m.channels.map(
    (c) =>
      html`<tr><td>${c.channel}</td><td><a href="${c.picture}"><img class="visualization" src="${c.picture}" alt="what channel ${c.channel} of ${m.layer} responds to"></a></td><td class="num">${precise(c.start, 3)} &rarr; ${precise(c.final, 3)}</td>${c.examples ? html`<td><a href="${c.examples}"><img class="examples-row" src="${c.examples}" alt="dataset examples of channel ${c.channel}"></a></td>` : ''}</tr>`,
  );
  const examples = m.channels.some((c) => c.examples);
  return html`<section class="maximize" id="maximize-${m.layer}">
<h3>${m.layer} <small>objective: ${m.objective}</small></h3>
${m.note ? html`<p class="note">${m.note}</p>` : ''}
<table class="summary"><thead><tr><th>Channel</th><th>Optimised image</th><th>Objective, start &rarr; end</th>${examples ? html`<th>Dataset examples</th>` : ''}</tr></thead><tbody>
${join(rows, '\n')}
</tbody></table>
<figure><a href="${m.overview}"><img src="${m.overview}" alt="feature visualizations of ${m.layer}"></a><figcaption>All channels drawn, labelled</figcaption></figure>
</section>`;
}

const className = (p: { index: number; name?: string }): string => `${p.index}${p.name ? ` ${p.name}` : ''}`;

function predictionSection(p: ReportPrediction): Markup {
  const rows = p.top.map(
    (c) => html`<tr><td>${className(c)}</td><td class="num">${(100 * c.probability).toFixed(1)}%</td></tr>`,
  );
  return html`<h2 id="prediction">Prediction</h2>
<figure><table class="summary"><thead><tr><th>Class</th><th>Probability</th></tr></thead><tbody>
${join(rows, '\n')}
</tbody></table></figure>
<figure><img class="input" src="${p.cam}" alt="Grad-CAM of class ${className(p.top[0])}"><figcaption>Why ${className(p.top[0])}: Grad-CAM at ${p.layer}, the gradient-weighted maps over the image (warm: where the class's evidence is)</figcaption></figure>`;
}

const percent = (part: number, whole: number): string => `${((100 * part) / whole).toFixed(4)}%`;

function summaryTable(summary: ModelSummary): Markup {
  const rows = summary.rows.map(
    (r) =>
      html`<tr${r.depth ? html` class="inner"` : ''}><td>${r.index ?? ''}</td><td>${`${'  '.repeat(r.depth)}${r.name}`}</td><td>${r.type}</td><td>${r.outputShape}</td><td class="num">${r.params === null ? '?' : thousands(r.params)}</td></tr>`,
  );
  const totals = totalRows(summary).map(
    ([label, value]) => html`<tr><td colspan="4">${label}</td><td class="num">${thousands(value)}</td></tr>`,
  );
  return html`<table class="summary"><thead><tr><th>#</th><th>Layer</th><th>Type</th><th>Output shape</th><th>Param #</th></tr></thead>
<tbody>
${join(rows, '\n')}
</tbody>
<tfoot>${join(totals, '\n')}</tfoot></table>`;
}

function layerSection(layer: ReportLayer): Markup {
  const [width, height] = layer.imageSize;
  const boxes = layer.tiles.map(
    ([channel, left, top, w, h]) =>
      html`<span class="tile" data-channel="${channel}" title="channel ${channel}" style="left:${percent(left, width)};top:${percent(top, height)};width:${percent(w, width)};height:${percent(h, height)}"><span>${channel}</span></span>`,
  );
  return html`<section class="layer" id="layer-${layer.name}">
<h3>${layer.name} <small>${layer.outputShape}</small></h3>
<p class="stats">${layer.shown} of ${layer.total} maps shown &middot; normalised per ${layer.normalize} &middot; mean activation ${precise(layer.meanActivation, 4)} &middot; dead maps ${(100 * layer.deadShare).toFixed(1)}%</p>
<div class="mosaic"><img src="${layer.image}" width="${width}" height="${height}" alt="feature maps of ${layer.name}">${boxes}</div>
</section>`;
}

export function reportHtml(data: ReportData): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${data.title}</title>
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
.examples img { max-width: 100%; } img.visualization { width: 128px; image-rendering: pixelated; } img.examples-row { height: 128px; } .channels { line-height: 1.8; } .score { color: #888; font-size: 12px; }
figure { display: inline-block; margin: 0 2rem 1rem 0; vertical-align: top; } figcaption { color: #555; font-size: 13px; }
img.input { image-rendering: pixelated; width: ${Math.max(224, data.input.width)}px; height: auto; }
</style>
</head>
<body>
<h1>${data.title}</h1>
<p>Model <b>${data.model}</b>, weights ${data.weights}, computed with ${data.engine}.</p>
<h2 id="input">Input</h2>
<figure><img class="input" src="${data.input.image}" alt="the input as the model saw it"><figcaption>${data.input.source}, as the model saw it: ${data.input.width}x${data.input.height}, preprocessing ${data.input.preprocessing}</figcaption></figure>
${data.prediction ? predictionSection(data.prediction) : ''}
<h2 id="summary">Layers</h2>
${summaryTable(data.summary)}
${data.filters ? html`<h2 id="filters">Filters of ${data.filters.layer}</h2>\n<figure><img src="${data.filters.image}" alt="filters of ${data.filters.layer}"><figcaption>${data.filters.caption}</figcaption></figure>` : ''}
<h2 id="maps">Feature maps</h2>
<p>Hover over a map to see its channel.</p>
${join(data.layers.map(layerSection), '\n')}
${data.examples?.length ? html`<h2 id="examples">Dataset examples</h2>\n${join(data.examples.map(examplesSection), '\n')}` : ''}
${data.maximize?.length ? html`<h2 id="maximize">What the channels respond to</h2>\n<p>Each channel's image optimised to excite it (cnnviz maximize), beside the real images that excite it most where an examples run of the layer is linked.</p>\n${join(data.maximize.map(maximizeSection), '\n')}` : ''}
</body>
</html>
`.text;
}
