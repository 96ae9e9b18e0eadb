// /components/residual: how big the residual stream is after each block and how much attention and the FFN
// wrote into it, per token (POST /api/v1/residual-norms: L2 norms of the traced activations).
import { postJSON } from './api.js';
import { draw, legendBelow, seriesColors, ticks, title, titleMargin, widthOf } from './chart.js';
import { heatmap } from './heatmap.js';
import { $, isEncDec, startPage } from './page.js';
import { tokenPlotly } from './tokens.js';
import { showUnknown } from './unk.js';
import { param } from './url-state.js';

const WRITERS = [['hook_attn_out', 'attention'], ['hook_cross_attn_out', 'cross-attention'], ['hook_mlp_out', 'FFN']];

async function run(page) {
  const { model, text, target } = page.state;
  const body = { model, text };
  if (isEncDec(model)) body.target = target;
  const out = await postJSON('/api/v1/residual-norms', body);
  // Norms: one column per stream state (into block 0, out of each block), one row per token.
  const cols = [];
  for (const s of out.stacks) {
    cols.push(`${s.stack}.0 in`);
    s.layers.forEach((L) => cols.push(`${s.stack}.${L.layer} out`));
  }
  const nStack = out.stacks.length;
  const z = [];
  const y = [];
  let off = 0;
  out.stacks.forEach((s) => {
    s.tokens.forEach((t, i) => {
      const row = new Array(cols.length).fill(null);
      row[off] = s.layers[0].hook_resid_pre[i];
      s.layers.forEach((L, j) => { row[off + 1 + j] = L.hook_resid_post[i]; });
      z.push(row);
      y.push(t);
    });
    off += s.layers.length + 1;
  });
  const rowPrefix = out.stacks.flatMap((s) => s.tokens.map((_, i) => (nStack > 1 ? `${s.stack} ${i}:` : `${i}:`)));
  const norms = heatmap($('plot-norms'), { z, x: cols, y: y.map((t, i) => tokenPlotly(t, rowPrefix[i])), yHtml: true, title: 'Size of the residual stream per token',
    hook: 'L2 norm of hook_resid_pre / hook_resid_post', xTitle: 'stream state', yTitle: 'token', showValues: z.length * cols.length <= 200,
    colorbar: ['‖residual‖', 'L2 norm'], filename: 'residual-norms' });
  // One series per (stack, layer, sublayer): all colours different (the translator has 10 series).
  const series = [];
  for (const s of out.stacks) {
    for (const L of s.layers) {
      for (const [key, label] of WRITERS) {
        if (L[key]) series.push({ name: `${s.stack}.${L.layer} ${label}`, tokens: s.tokens, stack: s.stack, y: L[key] });
      }
    }
  }
  const colors = seriesColors(series.length);
  const xLabels = (s) => s.tokens.map((t, i) => tokenPlotly(t, `${nStack > 1 ? `${s.stack} ` : ''}${i}:`));
  const traces = series.map((s, i) => ({ type: 'bar', name: s.name, x: xLabels(s), y: s.y, marker: { color: colors[i] },
    hovertemplate: `${s.name}<br>%{x}: %{y:.4g}<extra></extra>` }));
  const allX = [...new Set(series.flatMap(xLabels))];
  const width = widthOf($('plot-writes'));
  const tk = ticks(allX, width - 80);
  const below = legendBelow(series.length, width, 110);
  const writes = draw($('plot-writes'), traces, {
    title: title('How much each sublayer wrote, per token', 'L2 norm of hook_attn_out / hook_cross_attn_out / hook_mlp_out'),
    barmode: 'group', height: 360 + below.bottom, margin: { l: 60, r: 10, t: titleMargin(true), b: below.bottom },
    yaxis: { title: { text: '‖sublayer output‖ (L2 norm)' } },
    xaxis: { type: 'category', tickangle: tk.tickangle || -45, automargin: false },
    legend: below.legend,
  }, { filename: 'residual-writes' });
  await Promise.all([norms, writes]);
  showUnknown(out.stacks[0].tokens, out.stacks[1] ? out.stacks[1].tokens : undefined);
  const layers = out.stacks[0].layers.length;
  $('status').textContent = `${model}: ${out.stacks.map((s) => `${s.tokens.length} ${s.stack === 'blocks' ? '' : `${s.stack} `}tokens`).join(', ')}, `
    + `${layers} block${layers === 1 ? '' : 's'}${nStack > 1 ? ' per stack' : ''}`;
}

const page = startPage({ params: { model: param.model(), text: param.text(), target: param.text() }, run });
page.run();
