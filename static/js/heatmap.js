// The two chart shapes most pages draw, on top of chart.js (one config, lazy Plotly): heatmap() and bars().
//  - Axis categories are drawn at integer positions with the labels as tick text, so repeated words ("the" twice)
//    stay separate cells; ticks are thinned or turned to fit the chart's width (chart.ticks).
//  - Tokens on an axis (`xTokens` / `yTokens`) go through tokens.js; other labels are entity-escaped.
//  - null in z means "masked / -inf": the cell is left empty (grey background) and its hover says so.
//  - A heatmap with a colour scale must say what it measures (`colorbar: [what, unit]`); titles are words, with the
//    activation name as a subtitle (`hook`).
import { axisLabels, colorbar, draw, plotlyText, ticks, title as titleOf, titleMargin, widthOf } from './chart.js';

const NUM = new Intl.NumberFormat('en', { maximumSignificantDigits: 4 });

function defaultScale(zmin, zmax) {
  // Diverging scale only when the range spans 0 (signed quantities); otherwise Viridis (perceptually uniform,
  // colour-blind safe).
  if (zmin !== undefined && zmax !== undefined && zmin < 0 && zmax > 0) return 'RdBu';
  return 'Viridis';
}

function zRange(z) {
  let lo = Infinity;
  let hi = -Infinity;
  for (const row of z) for (const v of row) if (v !== null && v !== undefined) { if (v < lo) lo = v; if (v > hi) hi = v; }
  return [lo, hi];
}

const isIndexAxis = (list) => list.every((v, i) => v === i);

/**
 * Heatmap of z[row][col]. opts: {z, x?, y?, xTokens?, yTokens? (x / y are raw tokens), xHtml?, yHtml? (labels
 *   built with tokenPlotly already), title, hook?, xTitle, yTitle,
 *   colorbar: [what, unit] (required unless compact), highlightRow?, showValues?, zmin?, zmax?, symmetric? (range
 *   ±max|z|, diverging scale), colorscale?, onClick?({row, col, value}), height?, compact? (no axes / colour bar),
 *   staticPlot?, filename?, colGroup?, highlightCols? ([first, last])}
 */
export function heatmap(el, opts) {
  const { z, title = '', hook = '', xTitle = '', yTitle = '', highlightRow, showValues = false, onClick, compact = false } = opts;
  let { zmin, zmax } = opts;
  if (opts.symmetric) {
    const [lo, hi] = zRange(z);
    const m = Math.max(Math.abs(lo), Math.abs(hi)) || 1;
    zmin = -m; zmax = m;
  }
  const rows = z.length;
  const cols = rows ? z[0].length : 0;
  const xList = opts.x || Array.from({ length: cols }, (_, i) => i);
  const yList = opts.y || Array.from({ length: rows }, (_, i) => i);
  const xs = axisLabels(xList, opts.xTokens ? 'tokens' : opts.xHtml && 'html');
  const ys = axisLabels(yList, opts.yTokens ? 'tokens' : opts.yHtml && 'html');
  const yt = plotlyText(yTitle || 'row');
  const xt = plotlyText(xTitle || 'column');
  const what = opts.colorbar ? opts.colorbar[0] : 'value';
  const hover = z.map((row, i) => row.map((v, j) => `${yt}: ${ys[i]}<br>${xt}: ${xs[j]}<br>`
    + (v === null || v === undefined ? 'masked (−∞ before softmax)' : `${plotlyText(what)}: ${NUM.format(v)}`)));
  if (!compact && !opts.colorbar) throw new Error(`heatmap "${title}": say what the colours measure (colorbar: [what, unit])`);
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
    xgap: !compact && cols <= 40 ? 1 : 0,
    ygap: !compact && rows <= 40 ? 1 : 0,
  };
  if (!compact) trace.colorbar = colorbar(...opts.colorbar);
  const width = widthOf(el);
  const plotPx = Math.max(80, width - 170);  // minus the y labels, the colour bar and its title
  if (showValues && plotPx / Math.max(1, cols) >= 30) {  // numbers only where they fit in their cells
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
  const narrow = width < 500;
  const height = opts.height || (compact ? 140 : Math.min(720, Math.max(260, 110 + rows * 22 + (cols > 20 ? 40 : 0))));
  const layout = compact ? {
    title: { text: plotlyText(title), font: { size: 11 }, y: 0.97 },
    margin: { l: 6, r: 6, t: 22, b: 6 },
    height,
    xaxis: { visible: false },
    yaxis: { visible: false, autorange: 'reversed' },
  } : {
    title: titleOf(title, hook),
    margin: { l: narrow ? 40 : 70, r: 10, t: titleMargin(hook), b: 60 },
    height,
    // no zero lines / grid: over masked (grey) cells they drew a stray line along row 0 and column 0
    xaxis: { ...ticks(xs, plotPx, { numeric: isIndexAxis(xList) }), title: { text: plotlyText(xTitle) }, automargin: true,
      zeroline: false, showgrid: false },
    yaxis: { ...ticks(ys, Math.max(60, height - titleMargin(hook) - 70), { numeric: isIndexAxis(yList), vertical: true }), tickangle: 0,
      title: { text: plotlyText(yTitle) }, autorange: 'reversed', automargin: true, zeroline: false, showgrid: false },
  };
  layout.plot_bgcolor = '#e5e5e5'; // masked (null) cells show this grey
  layout.shapes = shapes;
  const config = {};
  if (compact) config.displayModeBar = false;
  if (opts.staticPlot) config.staticPlot = true;
  el.__xrayOnClick = onClick;
  return draw(el, [trace], layout, { filename: opts.filename || title, config }).then(() => {
    if (onClick && !el.__xrayClick) {
      el.__xrayClick = true;
      el.on('plotly_click', (ev) => {
        const pt = ev.points && ev.points[0];
        if (pt && el.__xrayOnClick) el.__xrayOnClick({ row: pt.y, col: pt.x, value: pt.z });
      });
    }
    return el;
  });
}

/**
 * Bar chart of y over the categories x. opts: {x, xTokens?, xHtml?, y, title, hook?, xTitle, yTitle?, yRange?, colors?, text?,
 * filename?, height?}
 */
export function bars(el, opts) {
  const { y, title = '', hook = '', xTitle = '', yTitle = '' } = opts;
  const xList = opts.x || y.map((_, i) => i);
  const xs = axisLabels(xList, opts.xTokens ? 'tokens' : opts.xHtml && 'html');
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
  const width = widthOf(el);
  const layout = {
    title: titleOf(title, hook),
    margin: { l: 55, r: 10, t: titleMargin(hook), b: 60 },
    height: opts.height || 320,
    xaxis: { ...ticks(xs, Math.max(80, width - 80), { numeric: isIndexAxis(xList) }), title: { text: plotlyText(xTitle) }, automargin: true },
    yaxis: { title: { text: plotlyText(yTitle) }, range: opts.yRange, automargin: true },
    plot_bgcolor: '#fff',
  };
  return draw(el, [trace], layout, { filename: opts.filename || title });
}
