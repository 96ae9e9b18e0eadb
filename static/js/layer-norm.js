// /components/layer-norm: the model's own layer norms on your text — per-token mean and √(var+ε) before,
// the values before and after, and the learned γ / β. Everything comes from POST /api/v1/trace and the weights.
import { getJSON, modelInfo, postJSON } from './api.js';
import { draw, LEGEND_TOP, PALETTE, ticks, title, titleMargin, widthOf } from './chart.js';
import { heatmap } from './heatmap.js';
import { $, choose, inputError, startPage } from './page.js';
import { tokenPlotly } from './tokens.js';
import { showUnknown } from './unk.js';
import { param } from './url-state.js';

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

// The norm's two outputs: (x − mean) / scale (hook_normalized, as in TransformerLens) and that · γ + β (hook_out).
const lnNames = (ln) => ({ standardized: `${ln}.hook_normalized`, output: `${ln}.hook_out` });

async function run(page) {
  const { model, text, target } = page.state;
  const info = await modelInfo(model);
  const names = new Set(info.activation_names.map((a) => a.name));
  const norms = [...names].filter((n) => n.endsWith('.hook_scale')).map((n) => n.slice(0, -'.hook_scale'.length));
  if (!norms.length) throw inputError(`${model} has no layer norm (it was trained without one)`);
  const ln = choose(page, 'ln', $('ln'), norms);
  $('target-label').hidden = info.arch !== 'encoder_decoder';
  const cfg = info.config;
  const { standardized, output } = lnNames(ln);
  const input = cfg.norm === 'pre' ? inputOf(ln, names, cfg) : null;
  const body = { model, text, precision: 5,
    names: [`${ln}.hook_mean`, `${ln}.hook_scale`, standardized, output, ...(input ? [input] : [])] };
  if (info.arch === 'encoder_decoder') body.target = target;
  const id = encodeURIComponent(model);
  const [tr, w, b] = await Promise.all([postJSON('/api/v1/trace', body),
    getJSON(`/api/v1/models/${id}/weights/${ln}.w`), getJSON(`/api/v1/models/${id}/weights/${ln}.b`)]);
  const A = tr.activations;
  const toks = ln.startsWith('decoder') ? tr.target_tokens : tr.tokens;
  const labels = toks.map((t, i) => tokenPlotly(t, `${i}:`));
  const tk = ticks(labels, widthOf($('plot-stats')) - 80);
  const x = labels.map((_, i) => i);
  const stats = draw($('plot-stats'), [
    { type: 'bar', name: 'mean', x, y: A[`${ln}.hook_mean`].data, marker: { color: PALETTE[0] } },
    { type: 'bar', name: '√(var+ε) = scale', x, y: A[`${ln}.hook_scale`].data, marker: { color: PALETTE[1] } },
  ], { title: title('Mean and scale of each token’s vector', `${ln}.hook_mean, ${ln}.hook_scale`), barmode: 'group', height: 320,
    margin: { l: 55, r: 10, t: titleMargin(true, true), b: 60 }, xaxis: { ...tk, automargin: true, title: { text: 'token' } },
    yaxis: { title: { text: 'value (same units as the input)' } }, legend: LEGEND_TOP },
  { filename: `${ln}-stats` });
  const dims = A[output].data[0].map((_, i) => i);
  const common = { x: dims, y: labels, yHtml: true, xTitle: 'd_model', yTitle: 'token', symmetric: true };
  const before = input
    ? heatmap($('plot-before'), { ...common, z: A[input].data, title: 'The norm’s input', hook: input, colorbar: ['activation', 'unitless'] })
    : heatmap($('plot-before'), { ...common, z: A[standardized].data, title: 'Standardized (post-LN: the input sum is not captured)',
      hook: standardized, colorbar: ['standardized value', 'standard deviations'] });
  const after = heatmap($('plot-after'), { ...common, z: A[output].data, title: 'After: standardized · γ + β', hook: output,
    colorbar: ['activation', 'unitless'] });
  const gamma = draw($('plot-gamma'), [
    { type: 'bar', name: `γ (${ln}.w)`, x: dims, y: w.data, marker: { color: PALETTE[0] } },
    { type: 'bar', name: `β (${ln}.b)`, x: dims, y: b.data, marker: { color: PALETTE[2] } },
  ], { title: title('Learned scale γ and shift β per dimension', `${ln}.w, ${ln}.b`), barmode: 'group', height: 320,
    margin: { l: 55, r: 10, t: titleMargin(true, true), b: 50 }, xaxis: { ...ticks(dims, widthOf($('plot-gamma')) - 80, { numeric: true }), title: { text: 'd_model' } },
    yaxis: { title: { text: 'parameter value' } }, legend: LEGEND_TOP }, { filename: `${ln}-gamma-beta` });
  await Promise.all([stats, before, after, gamma]);
  showUnknown(tr.tokens, info.arch === 'encoder_decoder' ? tr.target_tokens : undefined);
  $('status').textContent = `${toks.length} tokens · ${ln} of ${model}`;
}

const page = startPage({ params: { model: param.model(), text: param.text(), target: param.text(), ln: param.str('') },
  fields: { ln: 'ln' }, rerun: ['ln'], run });
page.run();
