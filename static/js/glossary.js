// /glossary: every activation name of the chosen model (GET /api/v1/models/{id} activation_names: name, dims and
// the one-line description from model/glossary.py), filtered by a search box, each linked to the trace step and
// the page that draw it.
import { modelInfo } from './api.js';
import { el } from './dom.js';
import { param } from './url-state.js';
import { $, ARCH_LABEL, startPage } from './page.js';

let info = null;
let page = null;
let stepOf = new Map();  // activation name -> the model's step for it (GET /api/v1/models/{id}: steps)
let stageTitle = new Map();  // stage id -> title

// Size of each dim from the config ("pos" and friends: one per token, not fixed).
function dimText(dim, cfg) {
  const sizes = { d_model: cfg.d_model, d_head: cfg.d_head, head: cfg.n_heads, kv_head: cfg.n_kv_heads ?? cfg.n_heads,
    d_mlp: cfg.d_mlp, d_vocab: cfg.vocab_size };
  return dim in sizes ? `${dim}=${sizes[dim]}` : dim;
}

// "decoder.1.cross_attn.hook_k" -> {prefix: 'decoder.1.cross_attn', leaf: 'hook_k', block: 'decoder.1', stack, layer}
function parts(name) {
  const i = name.lastIndexOf('.');
  const prefix = i < 0 ? '' : name.slice(0, i);
  const m = name.match(/^(blocks|encoder|decoder)\.(\d+)\./);
  return { prefix, leaf: name.slice(i + 1), block: m ? `${m[1]}.${m[2]}` : null, stack: m ? m[1] : null, layer: m ? Number(m[2]) : null };
}

// The trace step that draws `name`: its own, or the one it is drawn in (the model's steps say: K and V with Q, a
// norm's mean and scale with its normalized value).
function traceTarget(name) {
  const step = stepOf.get(name);
  return (step && step.part_of) || name;
}

function links(name, model) {
  const q = (path, extra = {}) => `${path}?${new URLSearchParams({ model, ...extra })}`;
  const { prefix, leaf, stack, layer } = parts(name);
  const out = [['trace step', q('/trace', { goto: traceTarget(name) })]];
  if (/(^|\.)ln\w*$/.test(prefix)) out.push(['layer norm', q('/components/layer-norm', { ln: prefix })]);
  if (prefix.endsWith('.mlp')) out.push(['feed-forward', q('/components/ffn')]);
  if (/^hook_(resid_\w+|attn_out|cross_attn_out|mlp_out)$/.test(leaf)) out.push(['residual stream', q('/components/residual')]);
  if (/^hook_resid_(pre|post)$/.test(leaf) && stack !== 'encoder') out.push(['logit lens', q('/logit-lens')]);
  if (leaf === 'hook_pos_embed') out.push(['positions', q('/components/positions')]);
  if (leaf === 'hook_pattern') {
    const kind = prefix.endsWith('cross_attn') ? 'cross' : stack === 'blocks' ? 'self' : stack;
    out.push(['attention', q('/attention', { kind, layer: String(layer), head: 'mean' })]);
  }
  if (leaf === 'hook_attn_scores' && !prefix.endsWith('cross_attn')) out.push(['masking', q('/components/masking')]);
  if (leaf === 'hook_logits' || leaf === 'hook_probs') out.push(['sampling', q('/sampling')]);
  return out;
}

// The heading a name is listed under: the title of its stage of the forward pass (the model's `stages`).
function groupOf(name) {
  const step = stepOf.get(name);
  return step ? stageTitle.get(step.stage) : '';
}

function matches(a, words) {
  const hay = `${a.name} ${a.dims.join(' ')} ${a.description}`.toLowerCase();
  return words.every((w) => hay.includes(w));
}

function render() {
  if (!info) return;
  const { state } = page;
  const words = state.q.toLowerCase().split(/\s+/).filter(Boolean);
  const all = info.activation_names;
  const shown = all.filter((a) => matches(a, words));  // the API lists them in forward order
  const head = el('tr', {}, ['name', 'dims', 'what it holds', 'shown in'].map((t) => el('th', { textContent: t })));
  const rows = [];
  let group = null;
  for (const a of shown) {
    const g = groupOf(a.name);
    if (g !== group) {
      group = g;
      rows.push(el('tr', { className: 'group' }, [el('th', { colSpan: 4, textContent: g })]));
    }
    rows.push(el('tr', { dataset: { name: a.name } }, [
      el('td', { className: 'mono name', textContent: a.name }),
      el('td', { className: 'mono dims', textContent: `[${a.dims.map((d) => dimText(d, info.config)).join(', ')}]` }),
      el('td', { className: 'desc', textContent: a.description }),
      el('td', { className: 'links' }, links(a.name, info.id).flatMap(([label, href], i) => [...(i ? [' · '] : []), el('a', { href, textContent: label })])),
    ]));
  }
  $('glossary-table').replaceChildren(el('thead', {}, [head]), el('tbody', {}, rows));
  $('status').textContent = words.length
    ? `${shown.length} of ${all.length} activation names of ${info.id} match "${state.q.trim()}"`
    : `${all.length} activation names of ${info.id} (${ARCH_LABEL[info.arch] || info.arch}, ${info.config.n_layers} layers)`;
  page.save();
}

async function run(pg, isLatest) {
  const detail = await modelInfo(pg.state.model);
  if (!isLatest()) return;
  info = detail;
  stepOf = new Map(detail.steps.map((st) => [st.hook, st]));
  stageTitle = new Map(detail.stages.map((st) => [st.id, st.title]));
  render();
}

page = startPage({ params: { model: param.model(), q: param.str('', { max: 200 }) }, fields: { q: 'q' }, run, charts: false, busy: 'Loading…' });
$('q').addEventListener('input', () => { page.state.q = $('q').value; render(); });
page.run();
