// /components/params: the parameter calculator. Every figure is GET /api/v1/param-count (model/param_count.py,
// pure arithmetic); the loaded models are counted the same way from their config and set beside
// sum(numel) of their real modules (GET /api/v1/models -> n_params).
import { getJSON } from './api.js';
import { bars } from './heatmap.js';
import { el } from './dom.js';
import { $, runPage } from './page.js';

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
    const v = config[CONFIG_KEY[name] || name];
    if (v === undefined) continue;
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
  bars($('plot-breakdown'), { x: names, y: names.map((k) => out.breakdown[k]), title: 'parameters by component',
    yTitle: 'parameters', text: names.map((k) => `${(100 * out.breakdown[k] / out.total).toFixed(1)}%`), filename: 'param-breakdown' });
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
  $('breakdown-table').replaceChildren(table);
}

function count() {
  return runPage(async () => {
    const q = query();
    history.replaceState(null, '', `?${q}`);
    renderCount(await getJSON(`/api/v1/param-count?${q}`));
  });
}

function choosePreset() {
  const id = $('preset').value;
  if (!id) return undefined;
  return runPage(async () => {
    const out = await getJSON(`/api/v1/param-count?preset=${encodeURIComponent(id)}`);
    fill(out.config);
    history.replaceState(null, '', `?${query()}`);
    renderCount(out);
  });
}

async function loadedModels() {
  const models = await getJSON('/api/v1/models');
  const table = el('table', { className: 'loaded' });
  table.append(el('tr', {}, ['model', 'architecture', 'by arithmetic (param-count)', 'sum of the real modules', 'equal']
    .map((t) => el('th', { textContent: t }))));
  for (const m of models) {
    const c = m.config;
    const q = new URLSearchParams({ arch: c.arch, vocab: c.vocab_size, d_model: c.d_model, n_heads: c.n_heads,
      n_layers: c.n_layers, d_mlp: c.d_mlp, n_ctx: c.n_ctx, act_fn: c.act_fn, pos_embed: c.pos_embed, norm: c.norm,
      tie_embeddings: c.tie_embeddings, mlp: c.mlp });
    const out = await getJSON(`/api/v1/param-count?${q}`);
    const row = el('tr', {}, [el('td', { className: 'mono', textContent: m.id }),
      el('td', { className: 'small', textContent: `${c.arch}, ${c.n_layers} layers, d_model ${c.d_model}, norm ${c.norm}${c.mlp ? '' : ', no FFN'}` }),
      el('td', { className: 'mono num', textContent: fmt(out.total) }),
      el('td', { className: 'mono num', textContent: fmt(m.n_params) }),
      el('td', { textContent: out.total === m.n_params ? '✓' : '✗ differs' })]);
    row.dataset.model = m.id;
    table.append(row);
  }
  $('loaded-models').replaceChildren(table);
}

async function init() {
  buildForm();
  const params = new URLSearchParams(location.search);
  $('param-form').addEventListener('submit', (e) => { e.preventDefault(); count(); });
  $('preset').addEventListener('change', choosePreset);
  $('preset').value = params.get('preset') || 'gpt2-small';
  // the preset's own values first, then any values given in the URL on top
  const base = await getJSON(`/api/v1/param-count?preset=${encodeURIComponent($('preset').value || 'gpt2-small')}`);
  fill(base.config);
  for (const [name, , kind] of FIELDS) {
    if (!params.has(name)) continue;
    if (kind === 'checkbox') $(`f-${name}`).checked = params.get(name) === 'true';
    else $(`f-${name}`).value = params.get(name);
  }
  await loadedModels();
  await count();
}
init().catch((e) => { $('error').textContent = e.message; });
