// /components/ffn: the FFN's non-linearity (GET /models/{id}/activation-fn), this text's hidden units on it
// (pre vs post from POST /api/v1/trace), the hidden activations, and the fraction near zero (POST /ffn-stats).
import { getJSON, postJSON } from './api.js';
import { heatmap } from './heatmap.js';
import { $, bootPage, loadModelWith, runPage } from './page.js';
import { showUnknown } from './unk.js';

let info = null;

function run() {
  return runPage(async () => {
    const id = $('model').value;
    if (!info || info.id !== id) info = await loadModelWith(id, $('layer'), 'mlp.hook_post', 'feed-forward sublayer');
    const layer = $('layer').value;
    const threshold = Number($('threshold').value);
    const body = { model: id, text: $('text').value };
    if (info.arch === 'encoder_decoder') body.target = $('target').value;
    const [curve, stats, tr] = await Promise.all([
      getJSON(`/api/v1/models/${id}/activation-fn?lo=-4&hi=4&n=161`),
      postJSON('/api/v1/ffn-stats', { ...body, threshold }),
      postJSON('/api/v1/trace', { ...body, precision: 4, names: [`${layer}.mlp.hook_pre`, `${layer}.mlp.hook_post`] }),
    ]);
    const pre = tr.activations[`${layer}.mlp.hook_pre`].data;
    const post = tr.activations[`${layer}.mlp.hook_post`].data;
    const toks = (layer.startsWith('decoder') ? tr.target_tokens : tr.tokens).map((t, i) => `${i}:${t}`);
    const swiglu = info.config.act_fn === 'swiglu';
    const traces = [{ type: 'scatter', mode: 'lines', name: curve.fn, x: curve.x, y: curve.y, line: { color: '#0072B2', width: 3 } }];
    if (!swiglu) {
      traces.push({ type: 'scatter', mode: 'markers', name: `${layer}: this text's units (pre → post)`, x: pre.flat(), y: post.flat(),
        marker: { color: '#E69F00', size: 5, opacity: 0.6 } });
    } else {
      traces.push({ type: 'histogram', name: `${layer}: gate values of this text`, x: pre.flat(), yaxis: 'y2', opacity: 0.4, marker: { color: '#E69F00' } });
    }
    Plotly.newPlot($('plot-curve'), traces, { height: 340, margin: { t: 10 }, xaxis: { title: 'pre-activation (hook_pre)' },
      yaxis: { title: 'post-activation' }, yaxis2: { overlaying: 'y', side: 'right', showgrid: false }, legend: { orientation: 'h' } },
    { responsive: true, displaylogo: false });
    const st = stats.stacks.flatMap((s) => s.layers);
    Plotly.newPlot($('plot-sparsity'), [{ type: 'bar', x: st.map((l) => l.name.replace('.mlp.hook_post', '')), y: st.map((l) => l.overall),
      marker: { color: '#009E73' }, text: st.map((l) => `${(100 * l.overall).toFixed(1)}%`), textposition: 'outside' }],
    { height: 340, margin: { t: 10 }, yaxis: { title: `share of units with |a| < ${stats.threshold}`, range: [0, 1] } }, { responsive: true, displaylogo: false });
    heatmap($('plot-hidden'), { z: post, x: post[0].map((_, i) => i), y: toks, title: `${layer}.mlp.hook_post`, xTitle: 'hidden unit (d_mlp)', yTitle: 'token' });
    showUnknown(tr.tokens, info.arch === 'encoder_decoder' ? tr.target_tokens : undefined);
    $('status').textContent = `${id}: ${info.config.act_fn}, d_mlp = ${info.config.d_mlp}`;
  });
}

bootPage({ run });
$('layer').addEventListener('change', run);
run();
