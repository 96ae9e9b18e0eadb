// /components/ffn: the FFN's non-linearity (GET /models/{id}/activation-fn), this text's hidden units on it
// (pre vs post from POST /api/v1/trace), the hidden activations, and the fraction near zero (POST /ffn-stats).
import { getJSON, modelInfo, postJSON } from './api.js';
import { draw, LEGEND_TOP, PALETTE, title, titleMargin } from './chart.js';
import { heatmap } from './heatmap.js';
import { $, choose, inputError, startPage } from './page.js';
import { tokenPlotly } from './tokens.js';
import { showUnknown } from './unk.js';
import { param } from './url-state.js';

const MAX_POINTS = 2000;

async function run(page) {
  const { model, text, target, threshold } = page.state;
  const info = await modelInfo(model);
  const layers = info.activation_names.map((a) => a.name).filter((n) => n.endsWith('.mlp.hook_post')).map((n) => n.slice(0, -'.mlp.hook_post'.length));
  if (!layers.length) throw inputError(`${model} has no feed-forward sublayer (it was trained without one)`);
  const layer = choose(page, 'layer', $('layer'), layers);
  $('target-label').hidden = info.arch !== 'encoder_decoder';
  const body = { model, text };
  if (info.arch === 'encoder_decoder') body.target = target;
  const [curve, stats, tr] = await Promise.all([
    getJSON(`/api/v1/models/${encodeURIComponent(model)}/activation-fn?lo=-4&hi=4&n=161`),
    postJSON('/api/v1/ffn-stats', { ...body, threshold }),
    postJSON('/api/v1/trace', { ...body, precision: 4, names: [`${layer}.mlp.hook_pre`, `${layer}.mlp.hook_post`] }),
  ]);
  const pre = tr.activations[`${layer}.mlp.hook_pre`].data;
  const post = tr.activations[`${layer}.mlp.hook_post`].data;
  const toks = layer.startsWith('decoder') ? tr.target_tokens : tr.tokens;
  const swiglu = info.config.act_fn === 'swiglu';
  const traces = [{ type: 'scatter', mode: 'lines', name: curve.fn, x: curve.x, y: curve.y, line: { color: PALETTE[0], width: 3 } }];
  if (!swiglu) {
    // at most MAX_POINTS markers (an SVG scatter of 25 tokens × 512 units took ~0.5 s to draw here): every k-th unit
    const xs = pre.flat();
    const ys = post.flat();
    const k = Math.max(1, Math.ceil(xs.length / MAX_POINTS));
    const pick = (a) => (k === 1 ? a : a.filter((_, i) => i % k === 0));
    traces.push({ type: 'scatter', mode: 'markers', x: pick(xs), y: pick(ys), marker: { color: PALETTE[1], size: 5, opacity: 0.6 },
      name: `this text’s hidden units (pre → post${k > 1 ? `; 1 in ${k} of ${xs.length.toLocaleString('en')} shown` : ''})` });
  } else {
    traces.push({ type: 'histogram', name: 'gate values of this text', x: pre.flat(), yaxis: 'y2', opacity: 0.4, marker: { color: PALETTE[1] } });
  }
  const curvePlot = draw($('plot-curve'), traces, { title: title(`The activation function (${curve.fn}) with this text’s units`,
    `${layer}.mlp.hook_pre → ${layer}.mlp.hook_post`), height: 360, margin: { l: 55, r: 45, t: titleMargin(true, true), b: 50 },
    xaxis: { title: { text: 'pre-activation' } }, yaxis: { title: { text: 'post-activation' } },
    ...(swiglu ? { yaxis2: { overlaying: 'y', side: 'right', showgrid: false, title: { text: 'count' } } } : {}), legend: LEGEND_TOP },
  { filename: `${layer}-activation-fn` });
  const st = stats.stacks.flatMap((s) => s.layers);
  const sparsity = draw($('plot-sparsity'), [{ type: 'bar', x: st.map((l) => l.name.replace('.mlp.hook_post', '')), y: st.map((l) => l.overall),
    marker: { color: PALETTE[2] }, text: st.map((l) => `${(100 * l.overall).toFixed(1)}%`), textposition: 'outside', cliponaxis: false }],
  { title: title(`Share of hidden units near zero (|a| < ${stats.threshold})`, '*.mlp.hook_post'), height: 360,
    margin: { l: 55, r: 10, t: titleMargin(true), b: 60 }, xaxis: { title: { text: 'layer' }, automargin: true },
    yaxis: { title: { text: 'share of units (0 to 1)' }, range: [0, 1.1] } }, { filename: 'ffn-near-zero' });
  const hidden = heatmap($('plot-hidden'), { z: post, title: 'Hidden units after the non-linearity', hook: `${layer}.mlp.hook_post`,
    y: toks.map((t, i) => tokenPlotly(t, `${i}:`)), yHtml: true, xTitle: `hidden unit (d_mlp = ${info.config.d_mlp})`, yTitle: 'token',
    colorbar: ['activation', 'unitless'], symmetric: post.flat().some((v) => v < 0) });
  await Promise.all([curvePlot, sparsity, hidden]);
  showUnknown(tr.tokens, info.arch === 'encoder_decoder' ? tr.target_tokens : undefined);
  $('status').textContent = `${model}: ${info.config.act_fn}, d_mlp = ${info.config.d_mlp}`;
}

const page = startPage({ params: { model: param.model(), text: param.text(), target: param.text(), layer: param.str(''),
  threshold: param.num(0.05, { min: 0.001, max: 10 }) }, fields: { layer: 'layer', threshold: 'threshold' }, rerun: ['layer'], run });
page.run();
