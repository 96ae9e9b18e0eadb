// /: the architecture diagram, generated from the loaded model's real module tree (every parameter and
// buffer with its shape: GET /api/v1/models/{id}/weights) and its activation dims (GET /api/v1/models/{id}).
// Each box links to the page that shows that part at work.
import { getJSON, modelInfo } from './api.js';
import { $, bootPage, runPage } from './page.js';

const OUT_HOOK = { embed: 'hook_embed', pos_embed: 'hook_pos_embed', ln1: 'hook_out', ln2: 'hook_out',
  ln_cross: 'hook_out', ln_final: 'hook_out', attn: 'hook_attn_out', cross_attn: 'hook_cross_attn_out',
  mlp: 'hook_mlp_out', unembed: 'hook_logits' };
const TITLE = { embed: 'Token embedding', pos_embed: 'Positional encoding', ln1: 'Layer norm', ln2: 'Layer norm', ln_cross: 'Layer norm',
  ln_final: 'Final layer norm', attn: 'Self-attention', cross_attn: 'Cross-attention', mlp: 'Feed-forward (FFN)', unembed: 'Unembedding → logits' };
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[c]));
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
  const hookScope = m.module.startsWith('ln') || m.module === 'mlp' || m.module.endsWith('attn')
    ? (m.module.startsWith('ln') ? `${m.path}.${leaf}` : `${m.scope}.${leaf}`) : (m.scope ? `${m.scope}.${leaf}` : leaf);
  // encoder-decoder: the shared embedding and position table are traced per stack (encoder.hook_embed, ...)
  const a = info.activation_names.find((x) => x.name === hookScope)
    || info.activation_names.find((x) => x.name === `encoder.${hookScope}`);
  if (!a) return '';
  const cfg = info.config;
  const size = { pos: 'pos', d_model: cfg.d_model, d_vocab: cfg.vocab_size, d_mlp: cfg.d_mlp };
  return `out [${a.dims.map((d) => (size[d] === 'pos' ? 'pos' : `${d}=${size[d] ?? d}`)).join(', ')}]`;
}

function linkFor(id, m) {
  const q = `model=${encodeURIComponent(id)}`;
  switch (m.module) {
    case 'embed': return `/trace?${q}&goto=hook_embed`;
    case 'pos_embed': return `/components/positions?${q}`;
    case 'ln1': case 'ln2': case 'ln_cross': case 'ln_final': return `/components/layer-norm?${q}&ln=${m.path}`;
    case 'attn': case 'cross_attn': return `/trace?${q}&goto=${m.path}.hook_q`;
    case 'mlp': return `/components/ffn?${q}&layer=${m.scope}`;
    case 'unembed': return `/logit-lens?${q}`;
    default: return `/trace?${q}`;
  }
}

function box(info, m, label) {
  const params = m.weights.map((w) => `${w.name.split('.').pop()}${w.param ? '' : ' (fixed buffer)'} [${w.shape.join('×')}]`).join(' · ');
  return `<a class="arch-box" data-module="${esc(m.path)}" data-params="${m.n_params}" href="${linkFor(info.id, m)}" title="${esc(params)}">
    <div class="t">${esc(label || TITLE[m.module] || m.module)} <span class="d">${esc(m.path)}</span></div>
    <div class="d">${m.n_params.toLocaleString()} params · ${esc(outShape(info, m))}</div>
    <div class="d w">${esc(params)}</div></a>`;
}

const arrow = '<div class="arch-arrow" aria-hidden="true">↓</div>';
function residualBox(id) {
  return `<a class="arch-resid" href="/components/residual?model=${encodeURIComponent(id)}" title="the sublayer output is added to the residual stream">⊕ + residual</a>`;
}

function blockHtml(info, mods, scope) {
  const inner = [...mods.values()].filter((m) => m.scope === scope);
  const cfg = info.config;
  const parts = [];
  for (const m of inner) {
    parts.push(box(info, m));
    if (cfg.residual && ['attn', 'cross_attn', 'mlp'].includes(m.module)) parts.push(residualBox(info.id));
  }
  const n = inner.reduce((s, m) => s + m.n_params, 0);
  return `<div class="arch-block" data-block="${scope}"><div class="label">${scope} · ${n.toLocaleString()} params · ${cfg.norm}-LN</div>${parts.join(arrow)}</div>`;
}

function stackHtml(info, mods, stack, n_layers) {
  const out = [];
  for (let l = 0; l < n_layers; l++) out.push(blockHtml(info, mods, `${stack}.${l}`));
  const fin = mods.get(stack === 'blocks' ? 'ln_final' : `${stack}.ln_final`);
  if (fin) out.push(box(info, fin));
  return out.join(arrow);
}

function run() {
  return runPage(async () => {
    const id = $('model').value;
    const [info, w] = await Promise.all([modelInfo(id), getJSON(`/api/v1/models/${encodeURIComponent(id)}/weights`)]);
    const mods = groupModules(w.weights);
    const cfg = info.config;
    const top = [mods.get('embed'), mods.get('pos_embed')].filter(Boolean).map((m) => box(info, m)).join('');
    let html = `<div class="stacks">${top}</div>${arrow}`;
    if (cfg.arch === 'encoder_decoder') {
      html += `<div class="stacks"><div class="stack" data-stack="encoder"><h3>Encoder (source words)</h3>${stackHtml(info, mods, 'encoder', cfg.n_layers)}
        <div class="arch-arrow">→ memory to every cross-attention</div></div>
        <div class="stack" data-stack="decoder"><h3>Decoder (target words so far)</h3>${stackHtml(info, mods, 'decoder', cfg.n_layers)}</div></div>`;
    } else {
      html += `<div class="stack" data-stack="blocks">${stackHtml(info, mods, 'blocks', cfg.n_layers)}</div>`;
    }
    const un = mods.get('unembed');
    html += `${arrow}${box(info, un, cfg.tie_embeddings ? 'Unembedding (tied to the embedding)' : undefined)}`;
    html += `${arrow}<a class="arch-box" href="/trace?model=${encodeURIComponent(id)}&goto=hook_probs"><div class="t">Softmax → next-word probabilities</div><div class="d">out [pos, d_vocab=${cfg.vocab_size}] · no params</div></a>`;
    $('diagram').innerHTML = html;
    const groups = [...mods.values()].filter((m) => m.n_params > 0).sort((a, b) => (a.module === 'unembed') - (b.module === 'unembed'));
    Plotly.newPlot($('plot-params'), [{ type: 'bar', x: groups.map((m) => m.path), y: groups.map((m) => m.n_params), marker: { color: '#0072B2' } }],
      { height: 320, margin: { t: 10, b: 110 }, yaxis: { title: 'parameters' }, xaxis: { tickangle: -45 } }, { responsive: true, displaylogo: false });
    $('status').textContent = `${id}: ${cfg.arch === 'encoder_decoder' ? 'encoder-decoder' : 'decoder-only'}, ${cfg.n_layers} layers, d_model ${cfg.d_model}, ${cfg.n_heads} heads, d_mlp ${cfg.d_mlp}, vocabulary ${cfg.vocab_size} · ${w.n_params.toLocaleString()} parameters in all`;
    $('status').dataset.total = w.n_params;
  }, 'Loading…');
}

bootPage({ run, text: false, onModelChange: () => history.replaceState(null, '', `?model=${$('model').value}`) });
run();
