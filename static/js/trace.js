// /trace: step through one forward pass. The list of steps is built from the model's own config and
// activation names; every number drawn is an activation returned by POST /api/v1/trace. The page fetches the
// activations one group at a time (the embeddings, one block, the output stage: `names` globs), only when a
// step needs them, keeps every fetched group for the current (model, text, target) and fetches the next group
// in the background once a step is drawn.
import { modelInfo, postJSON } from './api.js';
import { purge, whenIdle } from './chart.js';
import { heatmap, bars } from './heatmap.js';
import { el, setOptions } from './dom.js';
import { $, notice, startPage } from './page.js';
import { fillToken, tokenLabel, tokenNode } from './tokens.js';
import { showUnknown } from './unk.js';
import { param } from './url-state.js';

// The page's URL state (ui: step, token, head, goto) is kept by page.js; `state` holds what was fetched.
// token null = the last token of the text (the one whose next word the model predicts), not <bos>.
const state = { info: null, data: null, groups: [], steps: [] };
let ui = null;
let page = null;

// ---------------------------------------------------------------- the steps of the forward pass
// The layer norm's output after γ and β (TransformerLens's hook_normalized is the standardized value before them).
const lnOut = 'hook_out';

function lnSteps(p, ln, where) {
  return [{ kind: 'ln', name: `${p}.${ln}.${lnOut}`, ln: `${p}.${ln}`, title: `Layer norm (${ln}) ${where}`,
    text: (c) => `Each token's vector is shifted to mean 0 and scaled to variance 1 (mean and √(var+ε) of the chosen token: ${c.mean}, ${c.scale}), then multiplied by γ and shifted by β (${ln}.w, ${ln}.b).` }];
}

function attnSteps(p, kind, cfg) {
  const a = `${p}.${kind}`;
  const cross = kind === 'cross_attn';
  const src = cross ? 'the encoder output (memory)' : 'the same normalized stream';
  return [
    { kind: 'qkv', name: `${a}.hook_q`, title: `${cross ? 'Cross-attention' : 'Self-attention'}: Q, K, V`,
      text: () => `Three learned projections per head: queries from the stream, keys and values from ${src}; each head works in ${cfg.d_head} dimensions (d_model ${cfg.d_model} ÷ ${cfg.n_heads} heads).` },
    // Rotary positions (no position vector is added to the stream): the model's own step list says what they do.
    { kind: 'headvec', name: `${a}.hook_rot_q`, title: 'Rotary: rotate the queries', text: () => cfg.describe(`${a}.hook_rot_q`) },
    { kind: 'headvec', name: `${a}.hook_rot_k`, title: 'Rotary: rotate the keys', text: () => cfg.describe(`${a}.hook_rot_k`) },
    { kind: 'attn', name: `${a}.hook_dot`, title: 'Scores q·k',
      text: () => 'Dot product of every query with every key: how well each position matches what this position is looking for.' },
    { kind: 'attn', name: `${a}.hook_scaled`, title: `Divide by √d_head = √${cfg.d_head}`,
      text: () => `Scaling by 1/√${cfg.d_head} = ${(1 / Math.sqrt(cfg.d_head)).toFixed(4)} keeps the scores' spread independent of the head size, so the softmax does not saturate.` },
    { kind: 'attn', name: `${a}.hook_attn_scores`, title: 'Mask',
      text: () => cross ? 'Source padding is hidden (-∞, shown blank); every target position may read every real source word.'
        : (cfg.arch === 'decoder' || p.startsWith('decoder')) && cfg.self_attn_mask === 'causal'
          ? 'Causal mask: a position may not look at later positions; those scores become -∞ (blank cells).'
          : `Mask "${p.startsWith('encoder') ? 'padding' : cfg.self_attn_mask}": hidden pairs become -∞ (blank cells).` },
    { kind: 'attn', name: `${a}.hook_pattern`, title: 'Softmax → attention pattern',
      text: () => 'Softmax over the keys turns each row of scores into weights that are ≥ 0 and sum to 1; -∞ becomes exactly 0.' },
    { kind: 'headvec', name: `${a}.hook_z`, title: 'Weighted sum of values (pattern · V)',
      text: () => `Each position takes the attention-weighted average of the value vectors: one ${cfg.d_head}-dim vector per head.` },
    { kind: 'concat', name: `${a}.hook_z`, title: 'Concatenate the heads',
      text: () => `The ${cfg.n_heads} heads' z vectors are laid side by side: [pos, head, d_head] becomes [pos, ${cfg.n_heads}·${cfg.d_head} = ${cfg.n_heads * cfg.d_head}], head h in columns h·${cfg.d_head} to h·${cfg.d_head}+${cfg.d_head - 1} (the chosen head outlined); this is the input of W_O (${cfg.n_heads * cfg.d_head}×${cfg.d_model}).` },
    { kind: 'headvec', name: `${a}.hook_result`, title: "This head's output through W_O",
      text: () => `Each head's z goes through its own ${cfg.d_head}×${cfg.d_model} slice of W_O (the rows under its columns of the concatenation). Applying the whole W_O to the concatenation is the same as summing these per-head outputs (next step).` },
    { kind: 'vec', name: `${p}.hook_${cross ? 'cross_attn' : 'attn'}_out`, title: 'All heads summed (+ b_O)',
      text: () => `The ${cfg.n_heads} heads' outputs added together plus the bias b_O: what ${cross ? 'cross-' : ''}attention writes to the residual stream.` },
  ];
}

function residStep(name, title, cfg) {
  const text = cfg.residual ? 'The sublayer output is added to the stream it read from (the skip connection).'
    : 'No residual connection in this model: the sublayer output replaces the stream.';
  return { kind: 'vec', name, title, text: () => text + (cfg.norm === 'post' ? ' Post-LN: the sum is then layer-normed.' : '') };
}

function blockSteps(prefix, l, cfg, names) {
  const p = `${prefix}.${l}`;
  const norm = cfg.norm;
  const steps = [{ kind: 'vec', name: `${p}.hook_resid_pre`, title: `Block ${l}: residual stream in`, block: p,
    text: () => l === 0 ? (names.has(embedName(prefix, 'hook_pos_embed')) ? 'Token embedding + position vector: the stream the first block reads.'
      : 'The token embedding: the stream the first block reads (positions enter inside attention, or not at all).')
      : `What block ${l - 1} left in the residual stream.` }];
  const sub = (ln, kind, resid, title) => {
    if (norm === 'pre') steps.push(...lnSteps(p, ln, 'before the sublayer'));
    steps.push(...kind);
    steps.push(residStep(resid, title, cfg));
    if (norm === 'post') steps.push(...lnSteps(p, ln, 'after the residual add'));
  };
  sub('ln1', attnSteps(p, 'attn', cfg), `${p}.hook_resid_mid`, '+ residual');
  if (names.has(`${p}.cross_attn.hook_q`)) {
    sub('ln_cross', attnSteps(p, 'cross_attn', cfg), `${p}.hook_resid_mid_cross`, '+ residual (after cross-attention)');
  }
  if (names.has(`${p}.mlp.hook_pre`)) {
    const ffn = [
      { kind: 'vec', name: `${p}.mlp.hook_pre`, title: `FFN up-projection (d_model ${cfg.d_model} → d_mlp ${cfg.d_mlp})`,
        text: () => cfg.act_fn === 'swiglu' ? 'x·W_gate + b_gate: the gate branch of SwiGLU (the linear branch x·W_in is multiplied in next).'
          : 'x·W_in + b_in: every token is projected independently to the wider hidden layer.' },
      { kind: 'vec', name: `${p}.mlp.hook_post`, title: `Activation (${cfg.act_fn})`,
        text: () => cfg.act_fn === 'swiglu' ? 'silu(gate) ⊙ (x·W_in): the gate decides how much of each hidden unit passes.'
          : `${cfg.act_fn.toUpperCase()} applied element-wise: negative pre-activations are (nearly) zeroed.` },
      { kind: 'vec', name: `${p}.hook_mlp_out`, title: `FFN down-projection (d_mlp → d_model)`,
        text: () => 'post·W_out + b_out: back to the residual width; this is what the FFN writes to the stream.' },
    ];
    sub('ln2', ffn, `${p}.hook_resid_post`, '+ residual → block output');
  } else {
    steps.push({ kind: 'vec', name: `${p}.hook_resid_post`, title: 'Block output (this model has no FFN)', text: () => 'The stream leaving the block.' });
  }
  steps[0].block = p;
  steps.forEach((s) => { s.block = p; });
  return steps;
}

function buildSteps(info) {
  const apiSteps = info.steps || [];
  const described = Object.fromEntries(apiSteps.map((st) => [st.hook, st.description]));
  const cfg = { ...info.config, d_head: info.config.d_head || info.config.d_model / info.config.n_heads,
    describe: (hook) => described[hook] || '' };
  const names = new Set(apiSteps.length ? apiSteps.map((st) => st.hook) : info.activation_names.map((a) => a.name));
  const stacks = cfg.arch === 'encoder_decoder' ? ['encoder', 'decoder'] : ['blocks'];
  const steps = [];
  for (const stack of stacks) {
    const side = stack === 'decoder' ? 'target' : 'source';
    const label = stack === 'blocks' ? '' : `${stack[0].toUpperCase()}${stack.slice(1)}: `;
    steps.push({ kind: 'tokens', side, name: null, title: `${label}token ids`, block: `${stack}:in`,
      text: () => (info.vocab ? 'The text is split into words; each word is looked up in the vocabulary to get its id.'
        : 'The text is split into tokens by the model\'s tokenizer (subword pieces: a leading-space mark · shows a piece that starts a word); each token has an id in the vocabulary.') });
    steps.push({ kind: 'vec', side, name: embedName(stack, 'hook_embed'), title: `${label}embedding row`,
      block: `${stack}:in`, text: () => `Each id selects one row of the embedding matrix W_E (${cfg.vocab_size} × ${cfg.d_model}).` });
    steps.push({ kind: 'vec', side, name: embedName(stack, 'hook_pos_embed'), title: `${label}position vector`, block: `${stack}:in`,
      text: () => cfg.pos_embed === 'none' ? 'This model adds no position information: the vector added is zero.'
        : `The ${cfg.pos_embed} position vector of each position; it is added to the token's embedding (next step).` });
    for (let l = 0; l < cfg.n_layers; l++) {
      for (const s of blockSteps(stack, l, cfg, names)) steps.push({ ...s, side });
    }
    if (stack === 'encoder') {
      const final = names.has(`encoder.ln_final.${lnOut}`);
      steps.push({ kind: final ? 'ln' : 'vec', side, name: final ? `encoder.ln_final.${lnOut}` : `encoder.${cfg.n_layers - 1}.hook_resid_post`,
        ln: 'encoder.ln_final', title: 'Encoder output (memory)', block: 'encoder:out',
        text: (c) => `The encoder's last residual state${final ? `, layer-normed (token mean ${c.mean}, √(var+ε) ${c.scale})` : ''}: every decoder cross-attention reads its keys and values from this.` });
    }
  }
  const pre = cfg.arch === 'encoder_decoder' ? 'decoder.' : '';
  if (names.has(`${pre}ln_final.${lnOut}`)) {
    steps.push({ kind: 'ln', side: 'target', name: `${pre}ln_final.${lnOut}`, ln: `${pre}ln_final`, title: 'Final layer norm', block: 'out',
      text: (c) => `The last residual state is normalized once more (token mean ${c.mean}, √(var+ε) ${c.scale}) before the unembedding.` });
  }
  steps.push({ kind: 'logits', side: 'target', name: 'hook_logits', title: `Unembedding → logits (d_model → ${cfg.vocab_size} words)`, block: 'out',
    text: () => 'One score per vocabulary word: the normalized stream times W_U plus b_U.' });
  steps.push({ kind: 'logits', side: 'target', name: 'hook_probs', title: 'Softmax → next-word probabilities', block: 'out',
    text: () => 'Softmax turns the logits into a probability for every word; the bars show the chosen token\'s most likely next words.' });
  for (const s of steps) if (s.side === 'target' && cfg.arch !== 'encoder_decoder') s.side = 'source';
  // Only what this model computes: a step whose activation the model does not have (a position vector of a rotary
  // model, a rotation of a model without rotary) is left out; the model's own list (GET /api/v1/models/{id},
  // `steps`) is the authority on which activations exist.
  const kept = steps.filter((st) => !st.name || names.has(st.name));
  return { steps: kept, cfg };
}

// ---------------------------------------------------------------- the groups of names fetched together
const globRe = (g) => new RegExp(`^${g.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);

/** The forward pass cut into the groups the page fetches, in order: per stack its embeddings, each block
 *  (`{stack}.{l}.*`), the encoder's final norm; last the final norm, logits and probabilities. Globs that match
 *  no activation of this model (e.g. ln_final of a model without layer norm) are left out. */
function buildGroups(cfg, names) {
  const stacks = cfg.arch === 'encoder_decoder' ? ['encoder', 'decoder'] : ['blocks'];
  const groups = [];
  for (const stack of stacks) {
    const who = stack === 'blocks' ? '' : `${stack} `;
    groups.push({ label: `the ${who}embeddings`, globs: [embedName(stack, 'hook_embed'), embedName(stack, 'hook_pos_embed')] });
    for (let l = 0; l < cfg.n_layers; l++) groups.push({ label: `${who}block ${l}`, globs: [`${stack}.${l}.*`] });
    if (stack === 'encoder') groups.push({ label: 'the encoder output', globs: ['encoder.ln_final.*'] });
  }
  const pre = cfg.arch === 'encoder_decoder' ? 'decoder.' : '';
  groups.push({ label: 'the output stage', globs: [`${pre}ln_final.*`, 'hook_logits', 'hook_probs'] });
  const all = [...names];
  return groups.map((g) => ({ ...g, globs: g.globs.filter((x) => all.some((n) => globRe(x).test(n))) }))
    .filter((g) => g.globs.length);
}

/** The activation names a step draws (its own, the layer norm's mean and scale, K and V next to Q). */
function namesOf(s) {
  if (!s.name) return [];
  if (s.kind === 'ln') return [s.name, `${s.ln}.hook_mean`, `${s.ln}.hook_scale`];
  if (s.kind === 'qkv') return ['hook_q', 'hook_k', 'hook_v'].map((h) => s.name.replace(/hook_q$/, h));
  return [s.name];
}

/** Give every step the index of the group that holds all its names; the token-ids step takes the next step's. */
function assignGroups(steps, groups) {
  const res = groups.map((g) => g.globs.map(globRe));
  for (let i = steps.length - 1; i >= 0; i--) {
    const need = namesOf(steps[i]);
    const g = need.length ? res.findIndex((r) => need.every((n) => r.some((x) => x.test(n)))) : steps[i + 1].group;
    if (g < 0) throw new Error(`no group of names holds step "${steps[i].title}"`);
    steps[i].group = g;
  }
}

/** The promise of group `gi` of the current input: one POST per group (api.js keeps it, in flight or answered,
 *  and drops a failed one so that the next visit asks again). Each answer's activations are merged into
 *  state.data.acts. */
function fetchGroup(gi) {
  const d = state.data;
  return postJSON('/api/v1/trace', { ...d.body, names: state.groups[gi].globs }).then((r) => {
    if (!d.loaded.has(gi)) Object.assign(d.acts, r.activations);
    d.tokens = r.tokens;
    d.target_tokens = r.target_tokens;
    d.loaded.add(gi);
  });
}

// ---------------------------------------------------------------- rendering
function act(name) {
  const a = state.data.acts[name];
  if (!a) throw new Error(`the trace has no activation ${name}`);
  return a;
}
function tokensOf(side) { return side === 'target' ? state.data.target_tokens : state.data.tokens; }
function shapeText(a) { return `[${a.shape.join(', ')}]  (${a.dims.join(', ')})`; }
const fmt = (v) => (v === null ? '-∞' : Number(v).toFixed(3));
function headSlice(data, h) { return data.map((row) => row[h]); } // [pos, head, x] -> [pos, x]

/** The token shown: ui.token, or the last one when none was chosen (kept inside the text). */
function tokenIndex(toks) {
  const n = toks.length;
  if (ui.token === null || ui.token === undefined) return n - 1;
  if (ui.token < 0 || ui.token >= n) {
    if (page.fromUrl.has('token')) {
      notice(`The link asked for token ${ui.token}, but this text has tokens 0–${n - 1}; showing the last one.`);
      page.fromUrl.delete('token');
    }
    ui.token = null;
    return n - 1;
  }
  return ui.token;
}

/** Show step ui.step: at once when its group is here, else "loading …" in the step panel until it is
 *  (data-ready is 'false' meanwhile, 'true' once the step is drawn, 'error' if the fetch failed). */
function showStep() {
  const d = state.data;
  if (!d || !d.tokens) return Promise.resolve();  // nothing fetched yet (a run is in flight)
  const { steps } = state;
  ui.step = Math.max(0, Math.min(ui.step, steps.length - 1));
  const step = ui.step;
  const s = steps[step];
  $('step-count').textContent = `Step ${step + 1} / ${steps.length}`;
  $('step-title').textContent = s.title;
  $('prev').disabled = step === 0;
  $('next').disabled = step === steps.length - 1;
  document.querySelectorAll('#step-list li').forEach((li, i) => {
    li.setAttribute('aria-current', i === step ? 'step' : 'false');
    li.querySelector('button').tabIndex = i === step ? 0 : -1;
  });
  const li = document.querySelector('#step-list li[aria-current="step"]');
  if (li) {  // scroll the list only, never the page
    const list = li.parentElement;
    const off = li.getBoundingClientRect().top - list.getBoundingClientRect().top + list.scrollTop;
    list.scrollTop = Math.max(0, off - list.clientHeight / 2);
  }
  if (s.block && /\.\d+$/.test(s.block)) $('layer').value = s.block;
  page.save();
  if (d.loaded.has(s.group)) {
    document.body.dataset.ready = 'false';
    return drawStep().then(whenIdle).then(() => { if (state.data === d && ui.step === step) document.body.dataset.ready = 'true'; },
      (e) => showError(e));
  }
  document.body.dataset.ready = 'false';
  $('step-loading').textContent = `loading ${state.groups[s.group].label}…`;
  $('step-loading').hidden = false;
  $('step-name').textContent = s.name || 'tokens';
  $('step-text').textContent = '';
  purge($('plot-main'));
  purge($('plot-side'));
  $('plot-main').replaceChildren();
  $('plot-side').replaceChildren();
  const current = () => state.data === d && ui.step === step;
  return fetchGroup(s.group).then(async () => {
    if (!current()) return;
    $('error').textContent = '';
    await drawStep();
    await whenIdle();
    if (current()) document.body.dataset.ready = 'true';
  }, (e) => { if (current()) showError(e); });
}

function showError(e) {
  $('step-loading').hidden = true;
  $('error').textContent = e.message;
  document.body.dataset.ready = 'error';
}

const quoted = (t) => `“${tokenLabel(t)}”`;

/** Draw the current step (its group is loaded), then fetch the next group in the background. */
async function drawStep() {
  const s = state.steps[ui.step];
  const toks = tokensOf(s.side);
  const t = tokenIndex(toks);
  const h = ui.head;
  $('step-loading').hidden = true;
  renderTokenChips(toks, t);
  const main = $('plot-main');
  const side = $('plot-side');
  side.hidden = false;
  let ctx = {};
  let a = null;
  const draws = [];
  const y = toks;
  const rowOpts = { y, yTokens: true, yTitle: 'token', highlightRow: t };
  if (s.kind === 'tokens') {
    const given = s.side !== 'target' && state.data.ids && state.data.ids.length === toks.length ? state.data.ids : null;
    const ids = toks.map((w, i) => (state.info.vocab ? state.info.vocab.indexOf(w) : given ? given[i] : null));
    $('step-name').textContent = `tokens  [${toks.length}]  (pos)`;
    purge(main);
    const cell = (child, i, extra = {}) => el('td', { className: `mono${i === t ? ' sel' : ''}`, ...extra }, [child]);
    main.replaceChildren(el('div', { className: 'table-wrap' }, [el('table', { className: 'token-table' }, [
      el('tr', {}, [el('th', { textContent: 'pos' }), ...toks.map((_, i) => el('td', { textContent: String(i) }))]),
      el('tr', {}, [el('th', { textContent: 'token' }), ...toks.map((w, i) => cell(tokenNode(w), i))]),
      el('tr', {}, [el('th', { textContent: 'id' }), ...ids.map((id, i) => cell(String(id ?? '?'), i, { dataset: { testid: 'token-id' } }))])])]));
    side.hidden = true;
  } else {
    main.querySelector('.table-wrap')?.remove();  // the token-ids table; Plotly's own nodes stay for react()
    a = act(s.name);
    $('step-name').textContent = `${s.name}   ${shapeText(a)}`;
    if (s.kind === 'ln') {
      ctx = { mean: fmt(act(`${s.ln}.hook_mean`).data[t]), scale: fmt(act(`${s.ln}.hook_scale`).data[t]) };
    }
    if (s.kind === 'vec' || s.kind === 'ln') {
      draws.push(heatmap(main, { ...rowOpts, z: a.data, xTitle: a.dims[1], title: `${s.title}: every token`, hook: s.name,
        colorbar: ['activation', 'unitless'], symmetric: true }));
      draws.push(bars(side, { y: a.data[t], title: `Token ${t} ${quoted(toks[t])}`, hook: s.name, xTitle: a.dims[1], yTitle: 'value' }));
    } else if (s.kind === 'qkv') {
      const base = s.name.replace(/hook_q$/, '');
      const q = act(`${base}hook_q`); const k = act(`${base}hook_k`); const v = act(`${base}hook_v`);
      const kToks = s.name.includes('cross_attn') ? state.data.tokens : toks;
      $('step-name').textContent = `${base}hook_q / hook_k / hook_v   q ${shapeText(q)}   k, v ${shapeText(k)}`;
      const kh = Math.min(h, k.shape[1] - 1);  // grouped-query attention: fewer key/value heads
      draws.push(heatmap(main, { ...rowOpts, yTitle: 'query', z: headSlice(q.data, h), xTitle: 'd_head', title: `Queries, head ${h}`,
        hook: `${base}hook_q`, colorbar: ['activation', 'unitless'], symmetric: true }));
      const dh = k.data[0][0].length;
      const kv = k.data.map((row, i) => [...row[kh], null, ...v.data[i][kh]]);
      draws.push(heatmap(side, { z: kv, x: [...Array.from({ length: dh }, (_, i) => `k${i}`), ' ', ...Array.from({ length: dh }, (_, i) => `v${i}`)],
        y: kToks, yTokens: true, yTitle: 'key', title: `Keys | values, head ${kh}`, hook: `${base}hook_k | hook_v`, xTitle: 'd_head (keys, then values)',
        colorbar: ['activation', 'unitless'], symmetric: true }));
    } else if (s.kind === 'attn') {
      const kToks = s.name.includes('cross_attn') ? state.data.tokens : toks;
      const pattern = s.name.endsWith('hook_pattern');
      draws.push(heatmap(main, { ...rowOpts, yTitle: 'query', z: a.data[h], x: kToks, xTokens: true, xTitle: 'key', title: `${s.title}, head ${h}`,
        hook: s.name, zmin: pattern ? 0 : undefined, zmax: pattern ? 1 : undefined,
        colorbar: pattern ? ['attention weight', '0 to 1'] : ['score', 'unitless; blank = −∞'] }));
      draws.push(bars(side, { x: kToks, xTokens: true, y: a.data[h][t].map((v) => (v === null ? 0 : v)),
        title: `Query ${t} ${quoted(toks[t])} (masked keys: 0 bar, −∞)`, hook: s.name, xTitle: 'key', yTitle: pattern ? 'weight' : 'score' }));
    } else if (s.kind === 'headvec') {
      const z = headSlice(a.data, h);
      draws.push(heatmap(main, { ...rowOpts, z, xTitle: a.dims[2], title: `Head ${h}, every token`, hook: s.name,
        colorbar: ['activation', 'unitless'], symmetric: true }));
      draws.push(bars(side, { y: z[t], title: `Head ${h}, token ${t} ${quoted(toks[t])}`, hook: s.name, xTitle: a.dims[2], yTitle: 'value' }));
    } else if (s.kind === 'concat') {
      const [, H, dh] = a.shape;
      const z = a.data.map((row) => row.flat());  // [pos, head, d_head] -> [pos, head·d_head], head-major
      const x = z[0].map((_, i) => `h${Math.floor(i / dh)}·${i % dh}`);
      $('step-name').textContent = `${s.name}   ${shapeText(a)}  →  concatenated [${a.shape[0]}, ${H * dh}]  (pos, head·d_head)`;
      draws.push(heatmap(main, { ...rowOpts, z, x, title: `Heads 0–${H - 1} side by side, head ${h} outlined`, hook: s.name, xTitle: 'head·d_head',
        colGroup: dh, highlightCols: [h * dh, h * dh + dh - 1], colorbar: ['activation', 'unitless'], symmetric: true }));
      draws.push(bars(side, { x, y: z[t], title: `Token ${t} ${quoted(toks[t])}: the concatenated vector`, hook: s.name, xTitle: 'head·d_head',
        yTitle: 'value', colors: x.map((_, i) => (Math.floor(i / dh) === h ? '#d62728' : '#3b528b')) }));
    } else if (s.kind === 'logits') {
      const vocab = state.info.vocab || a.data[0].map((_, i) => `#${i}`);
      const probs = s.name === 'hook_probs';
      draws.push(heatmap(main, { ...rowOpts, z: a.data, x: vocab.length <= 500 ? vocab.map(tokenLabel) : undefined,
        title: probs ? 'Next-word probabilities, every token × vocabulary' : 'Logits, every token × vocabulary', hook: s.name,
        xTitle: vocab.length <= 500 ? 'word' : 'token id', colorbar: probs ? ['probability', '0 to 1'] : ['logit', 'unitless'],
        ...(probs ? { zmin: 0, zmax: 1 } : {}) }));
      const row = a.data[t].map((v, i) => [v, i]).sort((p, q) => q[0] - p[0]).slice(0, 10);
      draws.push(bars(side, { x: row.map(([, i]) => vocab[i]), xTokens: false, y: row.map(([v]) => v),
        title: `After ${quoted(toks[t])}: the top 10`, hook: s.name, xTitle: 'word', yTitle: probs ? 'probability' : 'logit' }));
    }
  }
  $('step-text').textContent = s.text(ctx);
  $('status').textContent = `${state.data.tokens.length} tokens · ${state.data.loaded.size} of ${state.groups.length} parts of the forward pass fetched`;
  if (s.group + 1 < state.groups.length) fetchGroup(s.group + 1).catch(() => {});  // prefetch; a failure shows when the step is visited
  await Promise.all(draws);
}

function embedName(stack, leaf) { return stack === 'blocks' ? leaf : `${stack}.${leaf}`; }

function renderTokenChips(toks, t) {
  $('tokens').replaceChildren(...toks.map((w, i) => {
    const b = el('button', { type: 'button', className: 'chip' });
    fillToken(b, w);
    b.setAttribute('aria-pressed', String(i === t));
    b.addEventListener('click', () => { ui.token = i; showStep(); });
    return b;
  }));
}

function renderStepList() {
  let lastBlock = null;
  $('step-list').replaceChildren(...state.steps.map((s, i) => {
    const li = el('li', { dataset: { name: s.name || 'tokens' } });
    if (s.block !== lastBlock) li.classList.add('group-start');
    lastBlock = s.block;
    li.append(el('button', { type: 'button', className: 'step-link', textContent: s.title, tabIndex: -1,
      onclick: () => { ui.step = i; showStep(); } }));
    return li;
  }));
}

// ---------------------------------------------------------------- loading
async function loadModel(id) {
  state.info = await modelInfo(id);
  const built = buildSteps(state.info);
  state.steps = built.steps;
  const cfg = built.cfg;
  state.groups = buildGroups(cfg, new Set(state.info.activation_names.map((a) => a.name)));
  assignGroups(state.steps, state.groups);
  $('target-label').hidden = cfg.arch !== 'encoder_decoder';
  const heads = Array.from({ length: cfg.n_heads }, (_, i) => i);
  setOptions($('head'), heads, heads.map((i) => `head ${i}`));
  page.clamp('head', 0, cfg.n_heads - 1, 'head');
  $('head').value = String(ui.head);
  const blocks = [...new Set(state.steps.map((s) => s.block).filter((b) => /\.\d+$/.test(b)))];
  setOptions($('layer'), blocks);
  renderStepList();
}

/** The step a `goto` name opens: the step drawing that activation (a layer norm's mean or scale opens the norm). */
function gotoStep(name) {
  const i = state.steps.findIndex((s) => s.name === name || namesOf(s).includes(name));
  return i >= 0 ? i : state.steps.findIndex((s) => (s.name || '').startsWith(name));
}

async function run(pg, isLatest) {
  state.data = null;  // steps of the previous input are not shown while this one loads
  const id = ui.model;
  if (!state.info || state.info.id !== id) await loadModel(id);
  const body = { model: id, text: ui.text, precision: 4 };
  if (state.info.arch === 'encoder_decoder') body.target = ui.target;
  const d = { body, tokens: null, target_tokens: null, acts: {}, loaded: new Set() };
  if (!isLatest()) return;
  state.data = d;
  if (ui.goto) {
    const i = gotoStep(ui.goto);
    if (i >= 0) ui.step = i;
    else if (pg.fromUrl.has('goto')) notice(`This model has no step that draws ${ui.goto}; showing step ${ui.step + 1}.`);
    ui.goto = '';
  }
  pg.clamp('step', 0, state.steps.length - 1, 'step');
  // A subword model sends no vocabulary: the ids of the source tokens come from POST /api/v1/tokenize (input_ids:
  // what the model reads, its start token included).
  const ids = state.info.vocab ? null : postJSON('/api/v1/tokenize', { model: id, text: ui.text }).then((r) => r.input_ids, () => null);
  await fetchGroup(state.steps[ui.step].group);
  d.ids = await ids;
  if (!isLatest()) return;
  showUnknown(d.tokens, d.target_tokens);
  await showStep();  // the run is done once the first picture is drawn
  if (document.body.dataset.ready === 'error') throw new Error($('error').textContent);
}

page = startPage({
  params: { model: param.model(), text: param.text(), target: param.text(), step: param.int(0, { min: 0 }),
    token: param.int(null, { min: 0, nullable: true }), head: param.int(0, { min: 0 }), goto: param.str('') },
  form: 'trace-form', run, busy: 'Running the model…',
  onModelChange: () => { ui.step = 0; ui.token = null; },
});
ui = page.state;
$('text').addEventListener('change', () => { ui.token = null; });  // a new text: back to its last token
$('prev').addEventListener('click', () => { ui.step -= 1; showStep(); });
$('next').addEventListener('click', () => { ui.step += 1; showStep(); });
$('head').addEventListener('change', () => { ui.head = Number($('head').value); showStep(); });
$('layer').addEventListener('change', () => { ui.step = state.steps.findIndex((s) => s.block === $('layer').value); showStep(); });
document.addEventListener('keydown', (e) => {
  if (!state.data?.tokens || ['INPUT', 'SELECT', 'TEXTAREA'].includes(e.target.tagName) || e.altKey || e.ctrlKey || e.metaKey) return;
  if (e.key === 'ArrowRight') { ui.step += 1; showStep(); e.preventDefault(); }
  if (e.key === 'ArrowLeft') { ui.step -= 1; showStep(); e.preventDefault(); }
});
page.run();
