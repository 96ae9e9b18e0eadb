// /: the architecture diagram, generated from the loaded model's real module tree (every parameter and
// buffer with its shape: GET /api/v1/models/{id}/weights) and its activation dims (GET /api/v1/models/{id}).
// Each box links to the page that shows that part at work. The diagram is built from DOM nodes (text through
// textContent); the parameter chart below it loads plotly.js only once the diagram is on screen.
import { getJSON, modelInfo } from './api.js';
import { draw, markFirstPicture, PALETTE, ticks, title, widthOf } from './chart.js';
import { el } from './dom.js';
import { $, ARCH_LABEL, startPage } from './page.js';
import { param } from './url-state.js';

const OUT_HOOK = { embed: 'hook_embed', pos_embed: 'hook_pos_embed', ln1: 'hook_out', ln2: 'hook_out',
  ln_cross: 'hook_out', ln_final: 'hook_out', attn: 'hook_attn_out', cross_attn: 'hook_cross_attn_out',
  mlp: 'hook_mlp_out', unembed: 'hook_logits' };
const TITLE = { embed: 'Token embedding', pos_embed: 'Positional encoding', ln1: 'Layer norm', ln2: 'Layer norm', ln_cross: 'Layer norm',
  ln_final: 'Final layer norm', attn: 'Self-attention', cross_attn: 'Cross-attention', mlp: 'Feed-forward (FFN)', unembed: 'Unembedding → logits' };
const prod = (shape) => shape.reduce((a, b) => a * b, 1);

// "blocks.0.attn.W_Q" -> { scope: "blocks.0", module: "attn", path: "blocks.0.attn" }; "decoder.ln_final.w" -> scope "decoder"
function parse(name) {
  const parts = name.split('.');
  parts.pop();
  const module = parts[parts.length - 1];
  const scope = parts.slice(0, -1).join('.');
  return { scope, module, path: parts.join('.') };
}

function groupModules(weights) {
  const mods = new Map();
  for (const w of weights) {
    const { scope, module, path } = parse(w.name);
    if (!mods.has(path)) mods.set(path, { path, scope, module, weights: [], n_params: 0 });
    const m = mods.get(path);
    m.weights.push(w);
    if (w.param) m.n_params += prod(w.shape);
  }
  return mods;
}

function outShape(info, m) {
  const leaf = OUT_HOOK[m.module];
  const isLn = m.module.startsWith('ln');
  const hookName = isLn ? `${m.path}.${leaf}` : (m.module === 'mlp' || m.module.endsWith('attn') || m.scope ? `${m.scope}.${leaf}` : leaf);
  const name = hookName.replace(/^\./, '');
  // encoder-decoder: the shared embedding and position table are traced per stack (encoder.hook_embed, ...)
  const a = info.activation_names.find((x) => x.name === name) || info.activation_names.find((x) => x.name === `encoder.${name}`);
  if (!a) return '';
  const cfg = info.config;
  const size = { d_model: cfg.d_model, d_vocab: cfg.vocab_size, d_mlp: cfg.d_mlp };
  return `out [${a.dims.map((d) => (size[d] === undefined ? d : `${d}=${size[d]}`)).join(', ')}]`;
}

function linkFor(id, m) {
  const q = (path, extra = {}) => `${path}?${new URLSearchParams({ model: id, ...extra })}`;
  switch (m.module) {
    case 'embed': return q('/trace', { goto: 'hook_embed' });
    case 'pos_embed': return q('/components/positions');
    case 'ln1': case 'ln2': case 'ln_cross': case 'ln_final': return q('/components/layer-norm', { ln: m.path });
    case 'attn': case 'cross_attn': return q('/trace', { goto: `${m.path}.hook_q` });
    case 'mlp': return q('/components/ffn', { layer: m.scope });
    case 'unembed': return q('/logit-lens');
    default: return q('/trace');
  }
}

function box(info, m, label) {
  const params = m.weights.map((w) => `${w.name.split('.').pop()}${w.param ? '' : ' (fixed buffer)'} [${w.shape.join('×')}]`).join(' · ');
  return el('a', { className: 'arch-box', href: linkFor(info.id, m), title: params, dataset: { module: m.path, params: String(m.n_params) } }, [
    el('div', { className: 't' }, [label || TITLE[m.module] || m.module, ' ', el('span', { className: 'd', textContent: m.path })]),
    el('div', { className: 'd', textContent: `${m.n_params.toLocaleString('en')} params · ${outShape(info, m)}` }),
    el('div', { className: 'd w', textContent: params }),
  ]);
}

const arrow = (text = '↓') => el('div', { className: 'arch-arrow', textContent: text, ...(text === '↓' ? { ariaHidden: 'true' } : {}) });
const residualBox = (id) => el('a', { className: 'arch-resid', href: `/components/residual?${new URLSearchParams({ model: id })}`,
  title: 'the sublayer output is added to the residual stream', textContent: '⊕ + residual' });

/** Nodes with an arrow between each two. */
function chain(nodes) { return nodes.flatMap((n, i) => (i ? [arrow(), n] : [n])); }

function block(info, mods, scope) {
  const inner = [...mods.values()].filter((m) => m.scope === scope);
  const parts = [];
  for (const m of inner) {
    parts.push(box(info, m));
    if (info.config.residual && ['attn', 'cross_attn', 'mlp'].includes(m.module)) parts.push(residualBox(info.id));
  }
  const n = inner.reduce((s, m) => s + m.n_params, 0);
  return el('div', { className: 'arch-block', dataset: { block: scope } }, [
    el('div', { className: 'label', textContent: `${scope} · ${n.toLocaleString('en')} params · ${info.config.norm}-LN` }), ...chain(parts)]);
}

function stack(info, mods, name, nLayers) {
  const out = Array.from({ length: nLayers }, (_, l) => block(info, mods, `${name}.${l}`));
  const fin = mods.get(name === 'blocks' ? 'ln_final' : `${name}.ln_final`);
  if (fin) out.push(box(info, fin));
  return chain(out);
}

async function run(page) {
  const id = page.state.model;
  const [info, w] = await Promise.all([modelInfo(id), getJSON(`/api/v1/models/${encodeURIComponent(id)}/weights`)]);
  const mods = groupModules(w.weights);
  const cfg = info.config;
  const nodes = [el('div', { className: 'stacks' }, [mods.get('embed'), mods.get('pos_embed')].filter(Boolean).map((m) => box(info, m))), arrow()];
  if (cfg.arch === 'encoder_decoder') {
    nodes.push(el('div', { className: 'stacks' }, [
      el('div', { className: 'stack', dataset: { stack: 'encoder' } }, [el('h3', { textContent: 'Encoder (source words)' }),
        ...stack(info, mods, 'encoder', cfg.n_layers), arrow('→ memory to every cross-attention')]),
      el('div', { className: 'stack', dataset: { stack: 'decoder' } }, [el('h3', { textContent: 'Decoder (target words so far)' }),
        ...stack(info, mods, 'decoder', cfg.n_layers)])]));
  } else {
    nodes.push(el('div', { className: 'stack', dataset: { stack: 'blocks' } }, stack(info, mods, 'blocks', cfg.n_layers)));
  }
  // a tied unembedding with no bias has no module of its own: it is W_E transposed
  const unembed = mods.get('unembed') ? box(info, mods.get('unembed'), cfg.tie_embeddings ? 'Unembedding (tied to the embedding)' : undefined)
    : el('a', { className: 'arch-box', href: linkFor(id, { module: 'unembed' }), dataset: { module: 'unembed', params: '0' } }, [
      el('div', { className: 't', textContent: 'Unembedding (tied: W_E transposed)' }),
      el('div', { className: 'd', textContent: `no params of its own · out [pos, d_vocab=${cfg.vocab_size}]` })]);
  nodes.push(arrow(), unembed, arrow(),
    el('a', { className: 'arch-box', href: `/trace?${new URLSearchParams({ model: id, goto: 'hook_probs' })}` }, [
      el('div', { className: 't', textContent: cfg.arch === 'encoder' ? 'Softmax → token probabilities at every position (masked-LM)' : 'Softmax → next-token probabilities' }),
      el('div', { className: 'd', textContent: `out [pos, d_vocab=${cfg.vocab_size}] · no params` })]));
  $('diagram').replaceChildren(...nodes);
  markFirstPicture();  // the diagram is the page's picture; the parameter chart follows
  $('status').textContent = `${id}: ${ARCH_LABEL[cfg.arch] || cfg.arch}, ${cfg.n_layers} layers, d_model ${cfg.d_model}, ${cfg.n_heads} heads, d_mlp ${cfg.d_mlp}, vocabulary ${cfg.vocab_size} · ${w.n_params.toLocaleString('en')} parameters in all`;
  $('status').dataset.total = w.n_params;
  const groups = [...mods.values()].filter((m) => m.n_params > 0).sort((a, b) => (a.module === 'unembed') - (b.module === 'unembed'));
  const labels = groups.map((m) => m.path);
  await draw($('plot-params'), [{ type: 'bar', x: labels.map((_, i) => i), y: groups.map((m) => m.n_params), marker: { color: PALETTE[0] },
    hovertext: groups.map((m) => `${m.path}: ${m.n_params.toLocaleString('en')}`), hoverinfo: 'text' }],
  { title: title('Parameters in each module'), height: 340, margin: { l: 60, r: 10, t: 40, b: 110 },
    yaxis: { title: { text: 'parameters' } }, xaxis: { ...ticks(labels, widthOf($('plot-params')) - 80), automargin: true } },
  { filename: `${id}-parameters` });
}

const page = startPage({ params: { model: param.model() }, run, busy: 'Loading…' });
page.run();
