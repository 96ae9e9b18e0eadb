// /components/residual: how big the residual stream is after each block and how much attention and the FFN
// wrote into it, per token (POST /api/v1/residual-norms: L2 norms of the traced activations).
import { postJSON } from './api.js';
import { heatmap } from './heatmap.js';
import { $, bootPage, isEncDec, runPage } from './page.js';
import { showUnknown } from './unk.js';

const COLORS = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#F0E442', '#000000'];
const WRITERS = [['hook_attn_out', 'attention'], ['hook_cross_attn_out', 'cross-attention'], ['hook_mlp_out', 'FFN']];

function run() {
  return runPage(async () => {
    const id = $('model').value;
    $('target-label').hidden = !isEncDec(id);
    const body = { model: id, text: $('text').value };
    if (isEncDec(id)) body.target = $('target').value;
    const out = await postJSON('/api/v1/residual-norms', body);
    // Norms: one column per stream state (into block 0, out of each block), one row per token.
    const cols = [];
    for (const s of out.stacks) {
      cols.push(`${s.stack}.0 in`);
      s.layers.forEach((L) => cols.push(`${s.stack}.${L.layer} out`));
    }
    const nStack = out.stacks.length;
    const z = []; const y = [];
    out.stacks.forEach((s) => {
      s.tokens.forEach((t, i) => {
        const row = new Array(cols.length).fill(null);
        const off = out.stacks.slice(0, out.stacks.indexOf(s)).reduce((n, x) => n + x.layers.length + 1, 0);
        row[off] = s.layers[0].hook_resid_pre[i];
        s.layers.forEach((L, j) => { row[off + 1 + j] = L.hook_resid_post[i]; });
        z.push(row);
        y.push(nStack > 1 ? `${s.stack} ${i}:${t}` : `${i}:${t}`);
      });
    });
    heatmap($('plot-norms'), { z, x: cols, y, title: '‖residual‖ (L2)', xTitle: 'stream state', yTitle: 'token', showValues: true });
    const traces = [];
    let c = 0;
    for (const s of out.stacks) {
      for (const L of s.layers) {
        for (const [key, label] of WRITERS) {
          if (!L[key]) continue;
          traces.push({ type: 'bar', name: `${s.stack}.${L.layer} ${label}`, x: s.tokens.map((t, i) => `${nStack > 1 ? `${s.stack} ` : ''}${i}:${t}`),
            y: L[key], marker: { color: COLORS[c % COLORS.length] } });
          c += 1;
        }
      }
    }
    Plotly.newPlot($('plot-writes'), traces, { barmode: 'group', height: 420, margin: { t: 60, b: 80 }, yaxis: { title: '‖sublayer output‖' }, xaxis: { tickangle: -45, automargin: true },
      legend: { orientation: 'h', x: 0, y: 1.02, yanchor: 'bottom' } }, { responsive: true, displaylogo: false });
    showUnknown(out.stacks[0].tokens, out.stacks[1] ? out.stacks[1].tokens : undefined);
    $('status').textContent = `${id}: ${out.stacks.map((s) => `${s.stack} ${s.tokens.length} tokens`).join(', ')}`;
  });
}

bootPage({ run });
run();
