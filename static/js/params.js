// /components/params: the parameter calculator. Every figure is GET /api/v1/param-count (model/param_count.py,
// pure arithmetic); the loaded models are counted the same way from their config and set beside
// sum(numel) of their real modules (GET /api/v1/models -> n_params).
import { getJSON } from './api.js';
import { bars } from './heatmap.js';
import { el } from './dom.js';
import { $, startPage } from './page.js';
import { param } from './url-state.js';

const PRESETS = [
  ['transformer-base-2017', 'Transformer base (Vaswani et al. 2017)'],
  ['gpt2-small', 'GPT-2 small'],
  ['bert-base', 'BERT-base'],
  ['llama3-8b', 'Llama 3 8B (grouped-query attention)'],
  ['gpt3', 'GPT-3 175B'],
];
// Every input of GET /api/v1/param-count (app/routers/param_count.py), under its query name: what the core builds.
// {name, label, kind: select | number | checkbox, choices?, min?, optional? (blank allowed: the preset's value),
//  more? (in the "more components" box)}
const FIELDS = [
  { name: 'arch', label: 'Architecture', kind: 'select', choices: [['decoder', 'decoder-only'], ['encoder', 'encoder-only (BERT)'], ['encoder_decoder', 'encoder-decoder']] },
  { name: 'vocab', label: 'Vocabulary', kind: 'number' },
  { name: 'd_model', label: 'd_model', kind: 'number' },
  { name: 'n_heads', label: 'Heads', kind: 'number' },
  { name: 'n_layers', label: 'Layers (per stack)', kind: 'number' },
  { name: 'd_mlp', label: 'd_mlp', kind: 'number' },
  { name: 'n_ctx', label: 'Context n_ctx', kind: 'number' },
  { name: 'act_fn', label: 'FFN activation', kind: 'select', choices: [['relu', 'ReLU'], ['gelu', 'GELU'], ['gelu_new', 'GELU, tanh form (GPT-2)'], ['silu', 'SiLU'], ['swiglu', 'SwiGLU (gated: 3 matrices)']] },
  { name: 'pos_embed', label: 'Positions', kind: 'select', choices: [['learned', 'learned table'], ['sinusoidal', 'sinusoidal'], ['sinusoidal_halves', 'sinusoidal, sin | cos (Marian)'], ['rotary', 'rotary'], ['none', 'none']] },
  { name: 'norm', label: 'Norm placement', kind: 'select', choices: [['pre', 'pre-norm'], ['post', 'post-norm'], ['none', 'no norm']] },
  { name: 'norm_type', label: 'Norm', kind: 'select', choices: [['layer', 'LayerNorm (γ, β)'], ['rms', 'RMSNorm (γ)']] },
  { name: 'tie_embeddings', label: 'Tied unembedding', kind: 'checkbox' },
  { name: 'mlp', label: 'FFN', kind: 'checkbox' },
  { name: 'n_kv_heads', label: 'Key/value heads (GQA)', kind: 'number', optional: true, more: true },
  { name: 'head_dim', label: 'd_head (blank: d_model ÷ heads)', kind: 'number', optional: true, more: true },
  { name: 'attn_bias', label: 'b_Q, b_K, b_V', kind: 'checkbox', more: true },
  { name: 'attn_out_bias', label: 'b_O', kind: 'checkbox', more: true },
  { name: 'mlp_bias', label: 'FFN biases', kind: 'checkbox', more: true },
  { name: 'unembed_bias', label: 'b_U', kind: 'checkbox', more: true },
  { name: 'n_token_types', label: 'Token types', kind: 'number', min: 0, more: true },
  { name: 'embed_norm', label: 'Norm after the embeddings', kind: 'checkbox', more: true },
  { name: 'lm_head', label: 'Output head', kind: 'select', choices: [['linear', 'linear'], ['mlm', 'MLM head (BERT)']], more: true },
];
// the config key (ModelConfig, GET /api/v1/models config) of a query parameter
const CONFIG_KEY = { vocab: 'vocab_size' };
const WHAT = {
  embeddings: 'token embedding W_E (vocab × d_model), and BERT\'s token-type table',
  positions: 'learned position table W_pos (n_ctx × d_model); sinusoidal and rotary positions are computed, not learned',
  attention: 'W_Q, W_O (d_model × heads·d_head each) and W_K, W_V (d_model × kv_heads·d_head each) per attention layer (decoder blocks of an encoder-decoder also have cross-attention)',
  ffn: 'W_in, W_out: 2 · d_model · d_mlp per block (SwiGLU adds W_gate)',
  layer_norms: 'γ (and β for LayerNorm, not RMSNorm): d_model each per norm',
  biases: 'b_Q, b_K, b_V, b_O, b_in, b_out per block where the model has them, and the unembedding bias b_U',
  unembedding: 'W_U (d_model × vocab), 0 when tied to the embedding; BERT\'s MLM dense layer',
};
const fmt = (n) => Number(n).toLocaleString('en');

function buildForm() {
  const preset = $('preset');
  for (const [id, label] of PRESETS) preset.append(el('option', { value: id, textContent: label }));
  const box = $('param-fields');
  const more = el('div', { className: 'controls' });
  for (const f of FIELDS) {
    let input;
    if (f.kind === 'select') {
      input = el('select', { id: `f-${f.name}`, name: f.name });
      for (const [v, label] of f.choices) input.append(el('option', { value: v, textContent: label }));
    } else if (f.kind === 'checkbox') {
      input = el('input', { id: `f-${f.name}`, name: f.name, type: 'checkbox' });
    } else {
      input = el('input', { id: `f-${f.name}`, name: f.name, type: 'number', min: f.min ?? 1, step: 1, required: !f.optional });
      input.style.width = '8rem';
    }
    (f.more ? more : box).append(el('label', {}, [f.label, input]));
  }
  box.append(el('details', { className: 'more-fields' }, [el('summary', { textContent: 'More components: grouped-query attention, biases, BERT\'s parts' }), more]));
}

function fill(config) {
  for (const f of FIELDS) {
    const v = config[CONFIG_KEY[f.name] || f.name];
    if (v === undefined) continue;
    const input = $(`f-${f.name}`);
    if (f.kind === 'checkbox') input.checked = Boolean(v);
    else input.value = v === null ? '' : String(v);
  }
}

function query() {
  const q = new URLSearchParams();
  if ($('preset').value) q.set('preset', $('preset').value);
  for (const { name, kind } of FIELDS) {
    const input = $(`f-${name}`);
    q.set(name, kind === 'checkbox' ? String(input.checked) : input.value);
  }
  return q;
}

function renderCount(out) {
  const names = Object.keys(out.breakdown);
  $('total').textContent = fmt(out.total);
  $('total').dataset.total = out.total;
  const lines = [`${fmt(out.per_layer)} parameters per block${out.config.arch === 'encoder_decoder' ? ' (one encoder + one decoder block)' : ''}, d_head = ${out.config.d_head}.`];
  if (out.published) lines.push(`Usually quoted: ${fmt(out.published)}. ${out.note}`);
  $('count-note').textContent = lines.join(' ');
  const table = el('table', { className: 'breakdown' });
  table.append(el('tr', {}, [el('th', { textContent: 'component' }), el('th', { textContent: 'parameters' }),
    el('th', { textContent: 'share' }), el('th', { textContent: 'what' })]));
  for (const k of names) {
    const row = el('tr', {}, [el('td', { className: 'mono', textContent: k }),
      el('td', { className: 'mono num', textContent: fmt(out.breakdown[k]) }),
      el('td', { className: 'mono', textContent: `${(100 * out.breakdown[k] / out.total).toFixed(1)}%` }),
      el('td', { className: 'small muted', textContent: WHAT[k] || '' })]);
    row.dataset.component = k;
    table.append(row);
  }
  $('breakdown-table').replaceChildren(el('div', { className: 'table-wrap' }, [table]));
  return bars($('plot-breakdown'), { x: names, y: names.map((k) => out.breakdown[k]), title: 'Parameters by component',
    yTitle: 'parameters', text: names.map((k) => `${(100 * out.breakdown[k] / out.total).toFixed(1)}%`), filename: 'param-breakdown' });
}

async function loadedModels() {
  const models = await getJSON('/api/v1/models');
  // each model's own configuration, every input as it is (the endpoint takes everything the core builds)
  const counts = await Promise.all(models.map((m) => {
    const q = new URLSearchParams();
    for (const { name } of FIELDS) {
      const v = m.config[CONFIG_KEY[name] || name];
      if (v !== undefined && v !== null) q.set(name, String(v));
    }
    return getJSON(`/api/v1/param-count?${q}`);
  }));
  const table = el('table', { className: 'loaded' });
  table.append(el('tr', {}, ['model', 'architecture', 'by arithmetic (param-count)', 'sum of the real modules', 'equal']
    .map((t) => el('th', { textContent: t }))));
  models.forEach((m, i) => {
    const c = m.config;
    const out = counts[i];
    const row = el('tr', {}, [el('td', { className: 'mono', textContent: m.id }),
      el('td', { className: 'small', textContent: `${c.arch}, ${c.n_layers} layers, d_model ${c.d_model}, ${c.norm_type === 'rms' ? 'RMSNorm' : 'LayerNorm'} ${c.norm}${c.mlp ? '' : ', no FFN'}${c.n_kv_heads && c.n_kv_heads < c.n_heads ? `, ${c.n_kv_heads} kv heads` : ''}` }),
      el('td', { className: 'mono num', textContent: fmt(out.total) }),
      el('td', { className: 'mono num', textContent: fmt(m.n_params) }),
      el('td', { textContent: out.total === m.n_params ? '✓' : '✗ differs' })]);
    row.dataset.model = m.id;
    table.append(row);
  });
  $('loaded-models').replaceChildren(el('div', { className: 'table-wrap' }, [table]));
}

// The state: a preset and every field (null = the preset's value). Fields a link gives override the preset's.
const params = { preset: param.str('gpt2-small', { choices: PRESETS.map((p) => p[0]).concat(['']) }) };
for (const { name, kind, choices, min } of FIELDS) {
  params[name] = kind === 'select' ? param.str('', { choices: [''].concat(choices.map((c) => c[0])) })
    : kind === 'checkbox' ? param.str('', { choices: ['', 'true', 'false'] }) : param.int(null, { min: min ?? 1, max: 10 ** 7, nullable: true });
}

let presetLoaded = null;
async function run(page, isLatest) {
  const { state } = page;
  let out = null;
  if (presetLoaded !== state.preset && state.preset) {
    // a new preset: its own values in every field and its own count; on the first run, the link's values on top
    const base = await getJSON(`/api/v1/param-count?preset=${encodeURIComponent(state.preset)}`);
    fill(base.config);
    out = base;
    if (presetLoaded === null) {
      for (const { name, kind } of FIELDS) {
        if (state[name] === null || state[name] === '') continue;
        const input = $(`f-${name}`);
        const shown = kind === 'checkbox' ? String(input.checked) : input.value;
        if (shown === String(state[name])) continue;  // the preset's own value
        if (kind === 'checkbox') input.checked = state[name] === 'true';
        else input.value = String(state[name]);
        out = null;  // the link changed a field: count what the fields say
      }
    }
    presetLoaded = state.preset;
  }
  const q = query();
  for (const { name } of FIELDS) state[name] = q.get(name);
  const table = isFirst ? loadedModels() : null;  // one count per loaded model: drawn after the chart
  isFirst = false;
  const count = await (out || getJSON(`/api/v1/param-count?${q}`));
  if (!isLatest()) return;
  await renderCount(count);
  await table;
}
let isFirst = true;

buildForm();
const page = startPage({ params, fields: { preset: 'preset' }, form: 'param-form', rerun: ['preset'], run });
page.run();
