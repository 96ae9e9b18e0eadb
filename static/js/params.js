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
  ['gpt3', 'GPT-3 175B'],
];
// [query parameter, label, kind, choices]; the query parameter names are those of /api/v1/param-count.
const FIELDS = [
  ['arch', 'Architecture', 'select', ['decoder', 'encoder_decoder']],
  ['vocab', 'Vocabulary', 'number'],
  ['d_model', 'd_model', 'number'],
  ['n_heads', 'Heads', 'number'],
  ['n_layers', 'Layers (per stack)', 'number'],
  ['d_mlp', 'd_mlp', 'number'],
  ['n_ctx', 'Context n_ctx', 'number'],
  ['act_fn', 'FFN activation', 'select', ['relu', 'gelu', 'swiglu']],
  ['pos_embed', 'Positions', 'select', ['sinusoidal', 'learned', 'none']],
  ['norm', 'Layer norm', 'select', ['pre', 'post', 'none']],
  ['tie_embeddings', 'Tied unembedding', 'checkbox'],
  ['mlp', 'FFN', 'checkbox'],
];
// config key (ModelConfig) for each query parameter
const CONFIG_KEY = { vocab: 'vocab_size' };
const WHAT = {
  embeddings: 'token embedding W_E (vocab × d_model)',
  positions: 'learned position table W_pos (n_ctx × d_model); sinusoidal positions are fixed, not learned',
  attention: 'W_Q, W_K, W_V, W_O: 4 · d_model² per attention layer (decoder blocks also have cross-attention)',
  ffn: 'W_in, W_out: 2 · d_model · d_mlp per block (SwiGLU adds W_gate)',
  layer_norms: 'γ and β: 2 · d_model per layer norm',
  biases: 'b_Q, b_K, b_V, b_O, b_in, b_out per block, and the unembedding bias b_U',
  unembedding: 'W_U (d_model × vocab), 0 when tied to the embedding',
};
const fmt = (n) => Number(n).toLocaleString('en');
// /api/v1/param-count takes act_fn relu | gelu | swiglu: only a gated activation (swiglu: one more matrix) changes
// the count, so every other one a config names (gelu_new, silu, …) is counted as gelu.
const countedAct = (a) => (a === 'swiglu' || a === 'relu' ? a : 'gelu');
// an encoder-only stack (BERT) has the blocks of a decoder-only one (no cross-attention); the query knows no 'encoder'
const countedArch = (a) => (a === 'encoder_decoder' ? a : 'decoder');
// positions: only a learned table has parameters; rotary, like sinusoidal, adds none
const countedPos = (p) => (['sinusoidal', 'learned', 'none'].includes(p) ? p : 'none');

function buildForm() {
  const preset = $('preset');
  for (const [id, label] of PRESETS) preset.append(el('option', { value: id, textContent: label }));
  const box = $('param-fields');
  for (const [name, label, kind, choices] of FIELDS) {
    let input;
    if (kind === 'select') {
      input = el('select', { id: `f-${name}`, name });
      for (const c of choices) input.append(el('option', { value: c, textContent: c }));
    } else if (kind === 'checkbox') {
      input = el('input', { id: `f-${name}`, name, type: 'checkbox' });
    } else {
      input = el('input', { id: `f-${name}`, name, type: 'number', min: 1, step: 1, required: true });
      input.style.width = '8rem';
    }
    box.append(el('label', {}, [label, input]));
  }
}

function fill(config) {
  for (const [name, , kind] of FIELDS) {
    let v = config[CONFIG_KEY[name] || name];
    if (v === undefined) continue;
    if (name === 'act_fn') v = countedAct(v);
    if (name === 'pos_embed') v = countedPos(v);
    if (name === 'arch') v = countedArch(v);
    if (kind === 'checkbox') $(`f-${name}`).checked = Boolean(v);
    else $(`f-${name}`).value = String(v);
  }
}

function query() {
  const q = new URLSearchParams();
  if ($('preset').value) q.set('preset', $('preset').value);
  for (const [name, , kind] of FIELDS) {
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
  const counts = await Promise.all(models.map((m) => {
    const c = m.config;
    const q = new URLSearchParams({ arch: countedArch(c.arch), vocab: c.vocab_size, d_model: c.d_model, n_heads: c.n_heads,
      n_layers: c.n_layers, d_mlp: c.d_mlp, n_ctx: c.n_ctx, act_fn: countedAct(c.act_fn), pos_embed: countedPos(c.pos_embed), norm: c.norm,
      tie_embeddings: c.tie_embeddings, mlp: c.mlp });
    return getJSON(`/api/v1/param-count?${q}`);
  }));
  const table = el('table', { className: 'loaded' });
  table.append(el('tr', {}, ['model', 'architecture', 'by arithmetic (param-count)', 'sum of the real modules', 'equal']
    .map((t) => el('th', { textContent: t }))));
  models.forEach((m, i) => {
    const c = m.config;
    const out = counts[i];
    const row = el('tr', {}, [el('td', { className: 'mono', textContent: m.id }),
      el('td', { className: 'small', textContent: `${c.arch}, ${c.n_layers} layers, d_model ${c.d_model}, norm ${c.norm}${c.mlp ? '' : ', no FFN'}` }),
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
for (const [name, , kind, choices] of FIELDS) {
  params[name] = kind === 'select' ? param.str('', { choices: [''].concat(choices) })
    : kind === 'checkbox' ? param.str('', { choices: ['', 'true', 'false'] }) : param.int(null, { min: 1, max: 10 ** 7, nullable: true });
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
      for (const [name, , kind] of FIELDS) {
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
  for (const [name] of FIELDS) state[name] = q.get(name);
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
