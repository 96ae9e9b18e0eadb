// Plotly wrappers shared by every page: heatmap() and bars().
//  - Axis categories are drawn at integer positions with the labels as tick text, so repeated words
//    ("the" twice) stay separate cells instead of being merged by Plotly's category axis.
//  - Every label and title goes through plotlyText(): Plotly renders a small HTML subset in labels, so user
//    text is entity-escaped and shows literally (never as markup).
//  - null in z means "masked / -inf": the cell is left empty (grey background) and its hover says so.
//  - Every chart keeps Plotly's modebar with the PNG export (toImage) button.

import { isUnkLabel } from './unk.js';

const NUM = new Intl.NumberFormat('en', { maximumSignificantDigits: 4 });

export function plotlyText(s) {
  return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function plotConfig(filename) {
  return {
    responsive: true,
    displaylogo: false,
    modeBarButtonsToRemove: ['select2d', 'lasso2d'],
    toImageButtonOptions: { format: 'png', filename: filename || 'xray-plot', scale: 2 },
  };
}

function slug(s) {
  return String(s || 'plot').replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^_+|_+$/g, '').slice(0, 60) || 'plot';
}

// Tick values/text for n categories; at most ~maxTicks labels are written so long axes stay readable.
function ticks(labels, maxTicks = 48) {
  const n = labels.length;
  const stride = Math.max(1, Math.ceil(n / maxTicks));
  const vals = [];
  const text = [];
  for (let i = 0; i < n; i += stride) { vals.push(i); text.push(tickLabel(labels[i])); }
  return { tickmode: 'array', tickvals: vals, ticktext: text };
}

// An unknown word's label (`<unk>`, "3:<unk>") is drawn bold in the warning colour, like the unk chips.
function tickLabel(label) {
  const t = plotlyText(label);
  return isUnkLabel(label) ? `<span style="color:#a33d00;font-weight:bold">${t}</span>` : t;
}

function axisTitle(t) { return t ? { text: plotlyText(t) } : undefined; }

function defaultScale(zmin, zmax) {
  // Diverging scale only when the range is symmetric around 0 (signed quantities); otherwise Viridis
  // (perceptually uniform, colour-blind safe).
  if (zmin !== undefined && zmax !== undefined && zmin < 0 && zmax > 0) return 'RdBu';
  return 'Viridis';
}

/**
 * Heatmap of z[row][col] with row labels y and column labels x.
 * opts: {z, x, y, title, xTitle, yTitle, highlightRow?, showValues?, zmin?, zmax?, colorscale?,
 *        colorbarTitle?, onClick?({row, col, value}), height?, compact? (no axes/colourbar), staticPlot?, filename?,
 *        colGroup? (draw a thin divider every colGroup columns), highlightCols? ([first, last] column outlined)}
 */
export function heatmap(el, opts) {
  const { z, title = '', xTitle = '', yTitle = '', highlightRow, showValues = false, zmin, zmax, colorbarTitle,
    onClick, compact = false } = opts;
  const rows = z.length;
  const cols = rows ? z[0].length : 0;
  const x = opts.x || Array.from({ length: cols }, (_, i) => i);
  const y = opts.y || Array.from({ length: rows }, (_, i) => i);
  const xs = x.map((l) => plotlyText(l));
  const ys = y.map((l) => plotlyText(l));
  // Per-cell hover text (labels are escaped; values are formatted here so masked cells can say so).
  const yt = plotlyText(yTitle || 'row');
  const xt = plotlyText(xTitle || 'col');
  const hover = z.map((row, i) => row.map((v, j) => `${yt}: ${ys[i]}<br>${xt}: ${xs[j]}<br>`
    + (v === null || v === undefined ? 'masked (−∞ before softmax)' : `value: ${NUM.format(v)}`)));
  const trace = {
    type: 'heatmap',
    z,
    x: Array.from({ length: cols }, (_, i) => i),
    y: Array.from({ length: rows }, (_, i) => i),
    text: hover,
    hoverinfo: 'text',
    hoverongaps: true,
    colorscale: opts.colorscale || defaultScale(zmin, zmax),
    zmin,
    zmax,
    showscale: !compact,
    colorbar: { title: { text: plotlyText(colorbarTitle || ''), side: 'right' }, thickness: 12, len: 0.9 },
    xgap: !compact && cols <= 40 ? 1 : 0,
    ygap: !compact && rows <= 40 ? 1 : 0,
  };
  if (showValues) {
    trace.texttemplate = '%{z:.2f}';
    trace.textfont = { size: 10 };
  }
  const shapes = [];
  if (highlightRow !== undefined && highlightRow !== null && highlightRow >= 0 && highlightRow < rows) {
    shapes.push({ type: 'rect', xref: 'x', yref: 'y', x0: -0.5, x1: cols - 0.5, y0: highlightRow - 0.5, y1: highlightRow + 0.5,
      line: { color: '#ff7f0e', width: 2.5 }, fillcolor: 'rgba(0,0,0,0)' });
  }
  if (opts.colGroup > 0) {
    for (let c = opts.colGroup; c < cols; c += opts.colGroup) {
      shapes.push({ type: 'line', xref: 'x', yref: 'paper', x0: c - 0.5, x1: c - 0.5, y0: 0, y1: 1, line: { color: '#fff', width: 3 } });
    }
  }
  if (Array.isArray(opts.highlightCols)) {
    const [c0, c1] = opts.highlightCols;
    shapes.push({ type: 'rect', xref: 'x', yref: 'paper', x0: c0 - 0.5, x1: c1 + 0.5, y0: 0, y1: 1,
      line: { color: '#d62728', width: 3 }, fillcolor: 'rgba(0,0,0,0)' });
  }
  const layout = {
    title: compact ? { text: plotlyText(title), font: { size: 11 }, y: 0.97 } : { text: plotlyText(title), font: { size: 14 } },
    margin: compact ? { l: 6, r: 6, t: 22, b: 6 } : { l: 90, r: 20, t: 40, b: 80 },
    height: opts.height || (compact ? 140 : Math.min(720, Math.max(260, 90 + rows * 22 + (cols > 20 ? 40 : 0)))),
    // no zero lines / grid: over masked (grey) cells they drew a stray line along row 0 and column 0
    xaxis: compact ? { visible: false } : { ...ticks(x), title: axisTitle(xTitle), tickangle: cols > 8 ? -45 : 0, automargin: true,
      zeroline: false, showgrid: false },
    yaxis: compact ? { visible: false, autorange: 'reversed' }
      : { ...ticks(y), title: axisTitle(yTitle), autorange: 'reversed', automargin: true, zeroline: false, showgrid: false },
    plot_bgcolor: '#e5e5e5', // masked (null) cells show this grey
    paper_bgcolor: '#fff',
    shapes,
    font: { family: 'system-ui, sans-serif', size: 11 },
  };
  const config = plotConfig(slug(title));
  if (compact) config.displayModeBar = false;
  if (opts.staticPlot) config.staticPlot = true;
  const p = window.Plotly.react(el, [trace], layout, config);
  if (onClick && !el.__xrayClick) {
    el.__xrayClick = true;
    el.on('plotly_click', (ev) => {
      const pt = ev.points && ev.points[0];
      if (pt && el.__xrayOnClick) el.__xrayOnClick({ row: pt.y, col: pt.x, value: pt.z });
    });
  }
  el.__xrayOnClick = onClick;
  return p;
}

/**
 * Bar chart of y over the categories x. opts: {x, y, title, xTitle, yTitle?, yRange?, colors?, text?, filename?}
 */
export function bars(el, opts) {
  const { y, title = '', xTitle = '', yTitle = '' } = opts;
  const x = opts.x || y.map((_, i) => i);
  const xs = x.map((l) => plotlyText(l));
  const trace = {
    type: 'bar',
    x: y.map((_, i) => i),
    y,
    text: opts.text,
    textposition: opts.text ? 'outside' : undefined,
    cliponaxis: false,
    hovertext: y.map((v, i) => `${xs[i]}: ${v === null || v === undefined ? 'masked' : NUM.format(v)}`),
    hoverinfo: 'text',
    marker: { color: opts.colors || '#3b528b' },
  };
  const layout = {
    title: { text: plotlyText(title), font: { size: 14 } },
    margin: { l: 60, r: 20, t: 40, b: 80 },
    height: opts.height || 320,
    xaxis: { ...ticks(x, 60), title: axisTitle(xTitle), tickangle: x.length > 8 ? -45 : 0, automargin: true },
    yaxis: { title: axisTitle(yTitle), range: opts.yRange, automargin: true },
    paper_bgcolor: '#fff',
    plot_bgcolor: '#fff',
    font: { family: 'system-ui, sans-serif', size: 11 },
  };
  return window.Plotly.react(el, [trace], layout, plotConfig(slug(opts.filename || title)));
}
