// The one chart configuration of every page, and the one way to draw with Plotly.
//  - plotly.js (4.8 MB) is not in <head>: loadPlotly() adds its <script> when a page first draws a chart (pages
//    that draw none never load it), so the page's text, tables and API requests do not wait for it. The file is
//    served with a long Cache-Control under a versioned URL (app/routers/pages.py), so a warm visit compiles it
//    from the browser's caches.
//  - CONFIG: PNG export only; no "Share chart…" / Chart Studio (they upload the data to a cloud service).
//  - The toolbar's buttons are out of the Tab order (each chart would add ~8 stops); clicking into a chart (on
//    purpose) puts that chart's buttons back in the Tab order.
//  - title(words, hook): a title in words with the hook name as its subtitle; colorbar(what, unit) is required for
//    every heatmap with a colour scale; seriesColors(n): n distinct colours.
import { tokenPlotly } from './tokens.js';

const PLOTLY_SRC = document.querySelector('meta[name="xray-plotly"]')?.content || '/static/vendor/plotly.min.js';
let loading = null;

/** The Plotly global, loading the script on first use (one request per page, shared by every chart). */
export function loadPlotly() {
  if (window.Plotly) return Promise.resolve(window.Plotly);
  if (!loading) {
    loading = new Promise((resolve, reject) => {
      const s = document.createElement('script');
      s.src = PLOTLY_SRC;
      s.async = true;
      s.onload = () => resolve(window.Plotly);
      s.onerror = () => { loading = null; s.remove(); reject(new Error(`the chart library (${PLOTLY_SRC}) could not be loaded; reload the page`)); };
      document.head.append(s);
    });
  }
  return loading;
}

export const FONT = { family: 'system-ui, sans-serif', size: 11 };

/** Plotly's config for every chart: PNG export kept, cloud upload and selection tools removed. */
export function plotConfig(filename = 'xray-plot') {
  return {
    responsive: true,
    displaylogo: false,
    showSendToCloud: false,
    showEditInChartStudio: false,
    showLink: false,
    modeBarButtonsToRemove: ['sendDataToCloud', 'editInChartStudio', 'select2d', 'lasso2d', 'toggleSpikelines'],
    toImageButtonOptions: { format: 'png', filename: slug(filename), scale: 2 },
  };
}

export function slug(s) {
  return String(s || 'plot').replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^_+|_+$/g, '').slice(0, 60) || 'plot';
}

/** Plotly renders a small HTML subset in labels: user text is entity-escaped so that it shows literally. */
export function plotlyText(s) {
  return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A title in words, with the activation (hook) name as a grey subtitle. */
export function title(words, hook = '') {
  const t = { text: plotlyText(words), font: { size: 14 }, x: 0, xanchor: 'left', xref: 'paper', y: 1, yref: 'container',
    yanchor: 'top', pad: { t: 8 } };
  if (hook) t.subtitle = { text: plotlyText(hook), font: { size: 11, color: '#5b6670', family: 'ui-monospace, monospace' } };
  return t;
}

/** Top margin that leaves room for a title (and its subtitle, and a legend above the plot: LEGEND_TOP). */
export function titleMargin(hook, legend = false) { return (hook ? 60 : 40) + (legend ? 26 : 0); }

/** A horizontal legend at the bottom of the figure, and the bottom margin that leaves room for it under the x
 *  tick labels (about 150 px per entry in rows of the chart's width). */
export function legendBelow(n, width, ticksPx = 80) {
  const rows = Math.max(1, Math.ceil((n * 150) / Math.max(200, width - 40)));
  return { legend: { orientation: 'h', x: 0, xanchor: 'left', yref: 'container', y: 0, yanchor: 'bottom' }, bottom: ticksPx + rows * 21 + 10 };
}

/** A horizontal legend just above the plot area, under the title (leave room with titleMargin(hook, true)). */
export const LEGEND_TOP = { orientation: 'h', x: 0, xanchor: 'left', y: 1.0, yanchor: 'bottom' };

/** A colour bar that says what it measures and in which unit, e.g. colorbar('attention weight', '0 to 1'). */
export function colorbar(what, unit) {
  if (!what) throw new Error('every colour bar needs a title: what it measures');
  return { title: { text: plotlyText(unit ? `${what} (${unit})` : what), side: 'right' }, thickness: 12, len: 0.9 };
}

// Okabe-Ito (colour-blind safe) first, then Paul Tol's "muted" and "bright" colours that differ from them; past
// these, evenly spaced hues.
export const PALETTE = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#F0E442', '#000000',
  '#332288', '#88CCEE', '#44AA99', '#117733', '#999933', '#882255', '#AA4499', '#DDCC77'];

/** n colours, all different. */
export function seriesColors(n) {
  if (n <= PALETTE.length) return PALETTE.slice(0, n);
  return Array.from({ length: n }, (_, i) => `hsl(${Math.round((360 * i) / n)}, 65%, ${i % 2 ? 35 : 50}%)`);
}

/** Width in px a chart in `el` will get (its box, or the page's content width before layout). */
export function widthOf(el) {
  return el.clientWidth || (el.parentElement && el.parentElement.clientWidth) || Math.min(window.innerWidth, 1400);
}

/**
 * Tick values and text for n category labels on an axis `px` wide: every label when they fit side by side,
 * turned 45° when they fit that way, else every k-th label. `labels` are Plotly label strings (already escaped).
 * Numeric axes (labels 0..n-1) get round steps (1, 2, 5, 10, 20, 50, …).
 */
export function ticks(labels, px, { numeric = false, vertical = false } = {}) {
  const n = labels.length;
  if (!n) return { tickmode: 'array', tickvals: [], ticktext: [] };
  const per = Math.max(1, px) / n;
  const plain = (s) => String(s).replace(/<[^>]*>/g, '').replace(/&[a-z]+;/g, 'x');
  const longest = Math.min(14, Math.max(...labels.map((l) => plain(l).length)));
  const flatPx = vertical ? 14 : longest * 6.5 + 8;  // a y axis stacks its labels: one line each
  let stride = 1;
  let angle = 0;
  if (numeric) {
    const need = vertical ? 16 : Math.max(flatPx, 26);
    const raw = Math.ceil(need / per);
    stride = [1, 2, 4, 5, 8, 10, 16, 20, 25, 32, 50, 64, 100, 128, 200, 250, 256, 500, 512, 1000].find((s) => s >= raw) || raw;
  } else if (vertical) {
    stride = Math.max(1, Math.ceil(flatPx / per));
  } else if (per < flatPx) {
    angle = -45;
    // turned labels need about one line height each, and a long label's tail must not run into the next one's
    stride = Math.max(1, Math.ceil(15 / per));
  }
  const tickvals = [];
  const ticktext = [];
  for (let i = 0; i < n; i += stride) { tickvals.push(i); ticktext.push(labels[i]); }
  return { tickmode: 'array', tickvals, ticktext, tickangle: angle };
}

/** Axis labels as Plotly strings. mode 'tokens': raw tokens, each "i:token" through tokenPlotly; 'html': labels that
 *  are Plotly strings already (built with tokenPlotly / plotlyText); otherwise plain labels, escaped. */
export function axisLabels(list, mode = null) {
  if (mode === 'tokens' || mode === true) return list.map((t, i) => tokenPlotly(t, `${i}:`));
  if (mode === 'html') return list.map(String);
  return list.map((l) => plotlyText(l));
}

// ---------------------------------------------------------------- the toolbar and the Tab order
function quietModebar(el) {
  const buttons = el.querySelectorAll('.modebar-btn, .modebar a, .modebar button');
  const active = el.dataset.toolbarActive === 'true';
  buttons.forEach((b) => b.setAttribute('tabindex', active ? '0' : '-1'));
  if (el.__xrayToolbar) return;
  el.__xrayToolbar = true;
  // Clicking into the chart, or focusing it with a pointer, is "on purpose": its toolbar joins the Tab order.
  el.addEventListener('pointerdown', () => { el.dataset.toolbarActive = 'true'; quietModebar(el); });
}

/** performance.mark('xray-first-picture') the first time the page shows a picture of its data (its first chart
 *  drawn, or page.js's first finished run for pages whose picture is a table or a diagram). bench/page_timing.py
 *  reads it. */
export function markFirstPicture() {
  if (!performance.getEntriesByName('xray-first-picture').length) performance.mark('xray-first-picture');
}

// Charts are drawn one at a time, with a frame between two, so the browser paints the first one before it lays
// out the next (a page that starts five charts at once would otherwise show nothing until all five are done).
let queue = Promise.resolve();
const nextFrame = () => new Promise((resolve) => { requestAnimationFrame(() => setTimeout(resolve, 0)); });

/** Resolves once no chart is waiting to be drawn (pages say data-ready="true" only then). */
export async function whenIdle() {
  let q;
  do { q = queue; await q; } while (q !== queue);  // eslint-disable-line no-await-in-loop
}

/** Draw (or redraw) traces into `el` with the shared config; resolves to the chart element. */
export function draw(el, traces, layout, opts = {}) {
  const mine = queue.then(() => drawNow(el, traces, layout, opts));
  queue = mine.then(nextFrame, nextFrame);
  return mine;
}

/** Break `text` (escaped Plotly text, no tags) into lines of at most `chars` characters, at spaces. */
export function wrap(text, chars) {
  const lines = [];
  let line = '';
  for (const word of String(text).split(' ')) {
    const plain = (s) => s.replace(/&[a-z]+;/g, 'x').length;
    if (line && plain(line) + 1 + plain(word) > chars) { lines.push(line); line = word; } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

// A title or subtitle longer than the chart is wide is wrapped (Plotly would cut it), and the top margin grows to
// hold the extra lines.
function fitTitle(layout, width) {
  const t = layout.title;
  if (!t || !t.text || /<br>/.test(t.text)) return layout;
  // the title starts at the plot area's left edge: after the y axis labels (automargin can widen them)
  const room = width - Math.max(90, (layout.margin && layout.margin.l) || 0) - 10;
  const title = wrap(t.text, Math.max(16, Math.floor(room / 7.6)));
  const sub = t.subtitle && t.subtitle.text ? wrap(t.subtitle.text, Math.max(16, Math.floor(room / 6.8))) : [];
  const extra = (title.length - 1) * 18 + Math.max(0, sub.length - 1) * 14;
  if (!extra) return layout;
  // Plotly places a multi-line title by its last line: move it down by the lines added above
  const out = { ...layout, title: { ...t, text: title.join('<br>'), pad: { ...(t.pad || {}), t: ((t.pad && t.pad.t) || 0) + (title.length - 1) * 18 } } };
  if (sub.length) out.title.subtitle = { ...t.subtitle, text: sub.join('<br>') };
  out.margin = { ...(layout.margin || {}), t: ((layout.margin && layout.margin.t) || 40) + extra };
  if (layout.height) out.height = layout.height + extra;
  return out;
}

async function drawNow(el, traces, layout, { filename, config = {} } = {}) {
  const Plotly = await loadPlotly();
  const full = fitTitle({ paper_bgcolor: '#fff', font: FONT, ...layout }, widthOf(el));
  await Plotly.react(el, traces, full, { ...plotConfig(filename || (layout.title && layout.title.text) || el.id), ...config });
  quietModebar(el);
  el.dataset.drawn = 'true';
  if (!(config.staticPlot)) markFirstPicture();  // (the attention grid's thumbnails are not the picture)
  return el;
}

/** Remove a chart and its listeners (nothing to do when Plotly was never loaded). */
export function purge(el) {
  if (window.Plotly && el) window.Plotly.purge(el);
}

/** Plotly's restyle, for pages that change one attribute in place (the sampling sliders). */
export function restyle(el, update, traces) { return window.Plotly ? window.Plotly.restyle(el, update, traces) : undefined; }
