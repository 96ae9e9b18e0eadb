// /components/layer-norm: the model's own layer norms on your text — per-token mean and √(var+ε) before,
// the values before and after, and the learned γ / β. Everything comes from POST /api/v1/trace and the weights.
import { getJSON, postJSON } from './api.js';
import { heatmap } from './heatmap.js';
import { setOptions } from './dom.js';
import { $, bootPage, loadModelWith, runPage } from './page.js';
import { showUnknown } from './unk.js';

const COLORS = ['#0072B2', '#E69F00', '#009E73', '#CC79A7'];
let info = null;

// The activation a pre-LN norm reads: ln1 <- resid_pre, ln_cross <- resid_mid, ln2 <- resid_mid(_cross),
// ln_final <- the last block's resid_post.
function inputOf(ln, names, cfg) {
  const m = ln.match(/^(.*?)(\d+)\.(ln1|ln2|ln_cross)$/);
  if (m) {
    const p = `${m[1]}${m[2]}`;
    if (m[3] === 'ln1') return `${p}.hook_resid_pre`;
    if (m[3] === 'ln_cross') return `${p}.hook_resid_mid`;
    return names.has(`${p}.hook_resid_mid_cross`) ? `${p}.hook_resid_mid_cross` : `${p}.hook_resid_mid`;
  }
  const stack = ln === 'ln_final' ? 'blocks' : ln.split('.')[0];
  return `${stack}.${cfg.n_layers - 1}.hook_resid_post`;
}

function run() {
  return runPage(async () => {
    const id = $('model').value;
    if (!info || info.id !== id) info = await loadModelWith(id, $('ln'), 'hook_out', 'layer norm');
    const ln = $('ln').value;
    const cfg = info.config;
    const names = new Set(info.activation_names.map((a) => a.name));
    const pre = cfg.norm === 'pre';
    const input = pre ? inputOf(ln, names, cfg) : null;
    const body = { model: id, text: $('text').value, precision: 5,
      names: [`${ln}.hook_mean`, `${ln}.hook_scale`, `${ln}.hook_normalized`, `${ln}.hook_out`, ...(input ? [input] : [])] };
    if (info.arch === 'encoder_decoder') body.target = $('target').value;
    const [tr, w, b] = await Promise.all([postJSON('/api/v1/trace', body),
      getJSON(`/api/v1/models/${id}/weights/${ln}.w`), getJSON(`/api/v1/models/${id}/weights/${ln}.b`)]);
    const A = tr.activations;
    const toks = (ln.startsWith('decoder') ? tr.target_tokens : tr.tokens).map((t, i) => `${i}:${t}`);
    Plotly.newPlot($('plot-stats'), [
      { type: 'bar', name: 'mean (hook_mean)', x: toks, y: A[`${ln}.hook_mean`].data, marker: { color: COLORS[0] } },
      { type: 'bar', name: '√(var+ε) (hook_scale)', x: toks, y: A[`${ln}.hook_scale`].data, marker: { color: COLORS[1] } },
    ], { barmode: 'group', height: 280, margin: { t: 10, b: 60 }, legend: { orientation: 'h' } }, { responsive: true, displaylogo: false });
    const dims = A[`${ln}.hook_out`].data[0].map((_, i) => i);
    if (input) {
      heatmap($('plot-before'), { z: A[input].data, x: dims, y: toks, title: input, xTitle: 'd_model', yTitle: 'token' });
    } else {
      heatmap($('plot-before'), { z: A[`${ln}.hook_normalized`].data, x: dims, y: toks, title: `${ln}.hook_normalized (post-LN: the input sum is not captured)`, xTitle: 'd_model', yTitle: 'token' });
    }
    heatmap($('plot-after'), { z: A[`${ln}.hook_out`].data, x: dims, y: toks, title: `${ln}.hook_out`, xTitle: 'd_model', yTitle: 'token' });
    Plotly.newPlot($('plot-gamma'), [
      { type: 'bar', name: `γ (${ln}.w)`, x: dims, y: w.data, marker: { color: COLORS[0] } },
      { type: 'bar', name: `β (${ln}.b)`, x: dims, y: b.data, marker: { color: COLORS[2] } },
    ], { barmode: 'group', height: 280, margin: { t: 10 }, xaxis: { title: 'd_model' }, legend: { orientation: 'h' } }, { responsive: true, displaylogo: false });
    showUnknown(tr.tokens, info.arch === 'encoder_decoder' ? tr.target_tokens : undefined);
    $('status').textContent = `${toks.length} tokens · ${ln} of ${id}`;
  });
}

const params = bootPage({ run });
if (params.get('ln')) setOptions($('ln'), [params.get('ln')]);  // checked against the model's norms in loadModelWith
$('ln').addEventListener('change', run);
run();
