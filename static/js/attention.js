// Attention explorer (/attention): token chips, per-head bars for the selected query token, the query x key
// pattern of one head (or the mean over heads), and a layers x heads grid. Which attention layers a model has, the
// tokens their queries and keys run over and what their mask hides come from the model's own steps (GET
// /api/v1/models/{id}: the hook_pattern steps and their `attention` and `positions`), so a decoder, an encoder
// (BERT), a translator (encoder, decoder self- and cross-attention) or a grouped-query model need no code of their
// own. Data: POST /api/v1/trace with one `names` entry per layer (hook_pattern only): the chosen layer first, so
// the first picture waits for one layer only; the other layers follow one at a time, in order (the server resumes
// each from the residual stream it kept for the one before), and fill the grid as they come. Head labels come from
// GET /api/v1/models/{id}/heads, after the first picture; for a model that kept snapshots along training
// (tiny-gpt) a training-step slider redraws the patterns from POST /api/v1/timeline/attention
// (attention-extras.js).
import { headScores, modelInfo, postJSON } from './api.js';
import { el, setOptionPairs } from './dom.js';
import { buildGrid, fillLayer, markSelected, relabel } from './attention-grid.js';
import { headEntry, labelText, scoresText, timeline, timelinePatterns } from './attention-extras.js';
import { heatmap, bars } from './heatmap.js';
import { whenIdle } from './chart.js';
import { fillToken, tokenLabel, tokensText } from './tokens.js';
import { showUnknown } from './unk.js';
import { $, notice, startPage } from './page.js';
import { param } from './url-state.js';
import { ENGLISH } from './examples.js';

// The translator's target is empty by default: the page then uses the model's own greedy translation.
// english-gpt opens on a repeated passage: the grid shows which heads of the second copy look back at the first.
const EXAMPLES = { 'english-gpt': { text: ENGLISH.repeat, target: '' },
  decoder: { text: 'the girl dropped the cup . it broke .', target: '' },
  encoder_decoder: { text: 'the red cat sees the big dog', target: '' },
  encoder: { text: 'The old dog slept by the fire while the children played outside.', target: '' } };

let page = null;
let state = null;  // page.state: model, text, target, kind, layer, head ('mean' or a number as text), token, step
// With no layer/head in the URL, the page opens on the head that shows what the input is about (signatureHead).
let pickHead = !new URLSearchParams(window.location.search).has('layer') && !new URLSearchParams(window.location.search).has('head');
let stepGen = 0; // the latest training-step choice
let viewGen = 0; // the latest update(): only it may say the page is ready
// {info, kind, target, toks: {tokens, target_tokens}, layers: [act per layer, null until fetched], pending, scores,
//  timeline, snap, loading (the run still fetches the other layers)}
let current = null;

/** The model's families of attention layers, from its steps: [{id, label, mask, window, q, k, names: [per layer]}];
 *  q / k: the tokens queries and keys run over ('tokens' = source, 'target_tokens'). Cross-attention first: it is
 *  the default view of a translator (target tokens over source tokens). */
const SIDE = { source: 'tokens', target: 'target_tokens' };
function kindsFor(info) {
  const kinds = new Map();
  for (const s of info.steps) {
    if (!s.attention || !s.hook.endsWith('.hook_pattern')) continue;
    const a = s.attention;
    if (!kinds.has(a.id)) {
      kinds.set(a.id, { id: a.id, label: a.label, mask: a.mask, window: a.window, q: SIDE[s.positions.query_pos],
        k: SIDE[s.positions.key_pos], names: [] });
    }
    kinds.get(a.id).names.push(s.hook);
  }
  const list = [...kinds.values()];
  return [...list.filter((k) => k.id === 'cross'), ...list.filter((k) => k.id !== 'cross')];
}
function kindObj(info) { const kinds = kindsFor(info); return kinds.find((k) => k.id === state.kind) || kinds[0]; }
function nHeads(info) { return info.config.n_heads; }  // query heads: a grouped-query model's patterns have as many

async function fetchPattern(model, text, target, name) {
  const body = { model, text, names: [name] };
  if (target !== null) body.target = target;
  const out = await postJSON('/api/v1/trace', body);
  return { tokens: out.tokens, target_tokens: out.target_tokens, act: out.activations[name] };
}

// For a translator with no target typed, use the model's own greedy translation as the decoder input.
async function defaultTarget(model, text) {
  const out = await postJSON('/api/v1/generate', { model, text, max_new_tokens: 24, temperature: 1, top_k: 1, seed: 0 });
  return out.steps.map((s) => s.token).filter((t) => t !== '<eos>').join(' ');
}

function meanOverHeads(act) {
  const [H, Q, K] = act.shape;
  const out = Array.from({ length: Q }, () => new Array(K).fill(0));
  for (let h = 0; h < H; h += 1) {
    for (let q = 0; q < Q; q += 1) {
      const row = act.data[h][q];
      for (let k = 0; k < K; k += 1) out[q][k] += (row[k] === null ? 0 : row[k]) / H;
    }
  }
  return out;
}

function headMatrix(act, head) { return head === 'mean' ? meanOverHeads(act) : act.data[Number(head)]; }

// ---------------------------------------------------------------- head labels and training timeline
// What the model's heads do, in one sentence from the head-label endpoint's probe scores (never a claim the
// scores do not back): the best head of each probe, and whether it reached the label threshold.
const PROBES = { 'previous-token': 'the previous token', induction: 'the token after an earlier copy of the current one',
  'duplicate-token': 'an earlier copy of the current token', 'first-token': 'the first token',
  alignment: 'the source word it translates' };
function showHeadsNote(scores) {
  const note = $('heads-note');
  if (!note) return;
  if (!scores || !scores.heads.length) { note.textContent = ''; return; }
  const parts = [];
  for (const [probe, what] of Object.entries(PROBES)) {
    const best = scores.heads.filter((e) => probe in e.scores).sort((a, b) => b.scores[probe] - a.scores[probe])[0];
    if (!best) continue;
    const v = best.scores[probe];
    parts.push(v >= scores.threshold
      ? `${best.name} head ${best.head} looks at ${what} (${probe} score ${v.toFixed(2)})`
      : `no head looks at ${what} (best ${probe} score ${v.toFixed(2)}, ${best.name} head ${best.head})`);
  }
  note.textContent = parts.length ? `What ${scores.model}'s heads do, measured by probes on text of their own (a label needs a `
    + `score ≥ ${scores.threshold}): ${parts.join('; ')}.` : '';
}

function attnName(l) { return current.kind.names[l].replace(/\.hook_pattern$/, ''); }
function headLabel(l, h) { return h === 'mean' ? '' : labelText(headEntry(current.scores, attnName(l), h)); }
function headTitle(l, h) {
  if (h === 'mean') return 'mean over heads';
  const lab = headLabel(l, h);
  return lab ? `head ${h} · ${lab}` : `head ${h}`;
}

// The patterns on display: the trained model's, or (timeline step chosen) the snapshot's, per layer.
function shownLayers() { return current.snap ? current.snap.layers : current.layers; }

// Fetch every layer's patterns along training for the current text; keep those of the chosen step.
async function loadSnapshot() {
  const tl = current.timeline;
  if (state.step === null || !tl || !tl.steps.includes(state.step)) { state.step = null; current.snap = null; return; }
  const outs = await Promise.all(current.layers.map((_, l) => timelinePatterns(state.model, state.text, l)));
  const i = outs[0].steps.indexOf(state.step);
  current.snap = { step: state.step, layers: outs.map((o) => {
    const data = o.patterns[i];
    return { dims: ['head', 'query_pos', 'key_pos'], shape: [data.length, data[0].length, data[0][0].length], data };
  }) };
}

function renderTimeline() {
  const tl = current.timeline;
  const has = Boolean(tl && tl.steps.length);
  $('step-label').hidden = !has;
  if (!has) return;
  const slider = $('step');
  slider.max = String(tl.steps.length - 1);
  const i = state.step === null ? tl.steps.length - 1 : tl.steps.indexOf(state.step);
  slider.value = String(i);
  const final = state.step === null;
  const loss = tl.losses[i];
  $('step-out').textContent = `${tl.steps[i]}${final ? ' (trained)' : ''}`;
  $('step-note').textContent = final
    ? `The trained model (its last snapshot, step ${tl.steps[i]}). Slide left to see the patterns earlier in training.`
    : `${state.model} after ${tl.steps[i]} of ${tl.steps[tl.steps.length - 1]} training steps`
      + (loss === null ? '' : ` (training loss ≈ ${loss.toFixed(3)} at step ${tl.loss_steps[i]})`)
      + '. Head labels stay those of the trained model.';
}

async function selectStep(i) {
  if (!current || !current.timeline) return;
  const steps = current.timeline.steps;
  state.step = i >= steps.length - 1 ? null : steps[i];
  document.body.dataset.ready = 'false';
  const my = ++stepGen;
  try {
    await loadSnapshot();
    renderGrid();
    await update();
    await whenIdle();
    if (my === stepGen) document.body.dataset.ready = 'true';
  } catch (e) {
    $('error').textContent = e.message;
    document.body.dataset.ready = 'error';
  }
}

// For drawing: where the model's mask hides keys (a causal layer: later positions; a sliding window: those too far
// back), the weights are exactly 0 in the data and are drawn as masked (null, grey) so they differ from a learned 0.
function forDisplay(z, kind) {
  if (kind.mask !== 'causal') return z;
  const w = kind.window;
  return z.map((row, q) => row.map((v, k) => (k > q || (w && k <= q - w) ? null : v)));
}

// ---------------------------------------------------------------- layers arrive one at a time
/** The promise of layer l's patterns for the current view (fetched once; drawn into the grid when it arrives). */
function ensureLayer(cur, l) {
  if (cur.layers[l]) return Promise.resolve(cur.layers[l]);
  if (!cur.pending.has(l)) {
    cur.pending.set(l, fetchPattern(state.model, state.text, cur.target, cur.kind.names[l]).then((o) => {
      cur.layers[l] = o.act;
      if (current === cur && !cur.snap) drawGridLayer(l);
      return o.act;
    }));
  }
  return cur.pending.get(l);
}

/** Every layer, in order, one request at a time: each resumes from the residual stream the server kept for the
 *  previous one, so the whole grid costs about one forward pass. */
async function loadAllLayers(cur) {
  for (let l = 0; l < cur.layers.length; l += 1) {
    if (current !== cur) return;
    await ensureLayer(cur, l);  // eslint-disable-line no-await-in-loop
  }
}

// ---------------------------------------------------------------- rendering
function renderChips(qToks) {
  $('chips').replaceChildren(...qToks.map((t, i) => {
    const b = el('button', { type: 'button', className: 'chip', dataset: { index: String(i) } });
    fillToken(b, t);
    b.setAttribute('aria-pressed', String(i === state.token));
    b.tabIndex = i === state.token ? 0 : -1;
    b.addEventListener('click', () => selectToken(i, true));
    return b;
  }));
}

function renderWeights(act, qToks, kToks) {
  const q = state.token;
  const H = act.shape[0];
  const heads = [...Array.from({ length: H }, (_, h) => h), 'mean'];
  const mean = meanOverHeads(act)[q];
  const rowOf = (h) => (h === 'mean' ? mean : act.data[h][q]);
  $('bars-title').textContent = `What “${tokenLabel(qToks[q])}” (position ${q}) attends to, layer ${state.layer}, every head`;

  const wrap = $('head-bars');
  if (wrap.children.length !== heads.length) {
    wrap.replaceChildren(...heads.map((h) => {
      const d = document.createElement('div');
      d.className = 'head-bar plot';
      d.dataset.head = String(h);
      d.tabIndex = 0;
      d.setAttribute('role', 'button');
      d.addEventListener('click', () => { state.head = String(h); update(); });
      d.addEventListener('keydown', (e) => { if (e.key === 'Enter') { state.head = String(h); update(); } });
      return d;
    }));
  }
  const drawn = heads.map((h, i) => {
    const el = wrap.children[i];
    el.classList.toggle('selected', String(h) === String(state.head));
    el.setAttribute('aria-label', `open ${h === 'mean' ? 'mean over heads' : `head ${h}`}`);
    return bars(el, { x: kToks, xTokens: true, y: rowOf(h).map((v) => (v === null ? 0 : v)), title: headTitle(state.layer, h),
      xTitle: 'key', yTitle: 'weight (0 to 1)', yRange: [0, 1], height: 240, filename: `attention_L${state.layer}_${h}_q${q}` });
  });

  // Exact weights as a table (also what the tests read): one row per head, one column per key.
  const table = $('weights-table');
  const head = document.createElement('tr');
  const corner = document.createElement('th');
  corner.textContent = 'head \\ key';
  head.append(corner, ...kToks.map((t, k) => {
    return fillToken(document.createElement('th'), t, `${k}:`);
  }));
  const body = heads.map((h) => {
    const tr = document.createElement('tr');
    tr.dataset.head = String(h);
    if (String(h) === String(state.head)) tr.className = 'sel';
    const th = document.createElement('th');
    th.textContent = h === 'mean' ? 'mean' : headTitle(state.layer, h);
    tr.append(th, ...rowOf(h).map((v, k) => {
      const td = document.createElement('td');
      td.dataset.key = String(k);
      if (v === null) { td.textContent = 'masked'; td.dataset.value = ''; } else {
        td.textContent = v.toFixed(3);
        td.dataset.value = String(v);
        td.title = String(v);
      }
      return td;
    }));
    return tr;
  });
  table.replaceChildren(head, ...body);
  return Promise.all(drawn);
}

function renderPattern(act, qToks, kToks, kindLabel) {
  const z = headMatrix(act, state.head);
  const which = state.head === 'mean' ? 'mean over heads' : `head ${state.head}`;
  $('pattern-title').textContent = `${kindLabel}, layer ${state.layer}, ${which}`;
  return heatmap($('plot-pattern'), {
    z: forDisplay(z, current.kind), x: kToks, y: qToks, xTokens: true, yTokens: true, title: `${kindLabel}, layer ${state.layer}, ${which}`,
    hook: current.kind.names[state.layer], xTitle: 'key', yTitle: 'query', highlightRow: state.token, zmin: 0, zmax: 1, colorscale: 'Viridis',
    colorbar: ['attention weight', '0 to 1'], showValues: qToks.length <= 14 && kToks.length <= 14,
    onClick: ({ row }) => selectToken(row, false),
  });
}

/** The grid's empty cells (their maps are drawn as the layers arrive). */
function renderGridShell() {
  buildGrid($('grid'), { nLayers: current.layers.length, nHeads: nHeads(current.info), selected: { layer: state.layer, head: state.head },
    label: headLabel, onOpen: (l, head) => {
      state.layer = l;
      state.head = head;
      update();
      $('pattern-title').scrollIntoView({ behavior: 'smooth', block: 'start' });
    } });
  gridTitle();
}

function gridTitle() {
  $('grid-title').textContent = `Every layer × head: ${current.kind.label}${current.snap ? ` at training step ${current.snap.step}` : ''}`;
}

/** Draw layer l's maps (every head, then the mean) from the patterns on display. */
function drawGridLayer(l) {
  const act = shownLayers()[l];
  if (!act) return;
  const heads = [...Array.from({ length: act.shape[0] }, (_, h) => String(h)), 'mean'];
  fillLayer($('grid'), l, heads.map((h) => forDisplay(headMatrix(act, h), current.kind)));
}

function renderGrid() {
  gridTitle();
  shownLayers().forEach((_, l) => drawGridLayer(l));
}

function update() {
  if (!current) return Promise.resolve();
  const cur = current;
  const { info, kind, toks, layers } = cur;
  const qToks = toks[kind.q];
  const kToks = toks[kind.k];
  if (state.token === null) state.token = qToks.length - 1;
  page.clamp('token', 0, qToks.length - 1, 'token');
  page.clamp('layer', 0, layers.length - 1, 'layer');
  if (state.head !== 'mean' && !(/^\d+$/.test(String(state.head)) && Number(state.head) < nHeads(info))) {
    if (page.fromUrl.has('head')) notice(`The link asked for head ${state.head}, but this model has heads 0–${nHeads(info) - 1}; showing the mean over heads.`);
    page.fromUrl.delete('head');
    state.head = 'mean';
  }
  $('layer').value = String(state.layer);
  setOptionPairs($('head'), [['mean', 'mean over heads'], ...Array.from({ length: nHeads(info) }, (_, h) => [h, headTitle(state.layer, h)])], state.head);
  renderChips(qToks);
  $('chips-title').textContent = kind.q === 'target_tokens' ? 'Target tokens (queries)' : 'Tokens';
  $('key-note').textContent = kind.k !== kind.q ? `Keys are the source tokens: ${tokensText(toks.tokens)}` : 'Click a word, or focus one and use ← → Home End.';
  markSelected($('grid'), state.layer, state.head);
  page.save();
  // charts are drawn a frame apart (chart.js): the page says it is ready once all of this view's are drawn (and,
  // while the first run still fetches the other layers, once that run is done: page.js says so then)
  document.body.dataset.ready = 'false';
  const gen = ++viewGen;
  const act = shownLayers()[state.layer];
  if (!act) {  // a layer that has not arrived yet: fetch it ahead of the others, then draw
    $('pattern-title').textContent = `loading layer ${state.layer}…`;
    return ensureLayer(cur, state.layer).then(() => (gen === viewGen && current === cur ? update() : undefined));
  }
  const drawn = [renderWeights(act, qToks, kToks), renderPattern(act, qToks, kToks, kind.label)];
  const entry = state.head === 'mean' ? undefined : headEntry(cur.scores, attnName(state.layer), state.head);
  $('head-scores').textContent = entry
    ? `${entry.name} head ${entry.head} (trained model): ${entry.labels.length ? `labels ${entry.labels.join(', ')}` : 'no label'}`
      + ` (a label needs a score ≥ ${cur.scores.threshold}); scores: ${scoresText(entry)}`
    : '';
  renderTimeline();
  $('pattern-note').textContent = 'Rows are queries (the token doing the looking), columns are keys. Click a row to select that token.'
    + (kind.mask === 'causal' ? ' Grey cells are masked: a causal layer cannot look at later tokens (score −∞ before the softmax, weight exactly 0).' : '')
    + (kind.id === 'cross' ? ' The decoder at target position i is choosing token i+1, so an alignment head looks at the source token of the next target token.' : '');
  return Promise.all(drawn).then(whenIdle).then(() => { if (gen === viewGen && !cur.loading) document.body.dataset.ready = 'true'; });
}

function selectToken(i, focus) {
  if (!current) return;
  const n = current.toks[current.kind.q].length;
  state.token = Math.max(0, Math.min(n - 1, i));
  update();
  if (focus) {
    const chip = $('chips').querySelector(`[data-index="${state.token}"]`);
    if (chip) chip.focus();
  }
}

async function run(pg, isLatest) {
  const info = await modelInfo(state.model);
  const kinds = kindsFor(info);
  if (!kinds.length) throw Object.assign(new Error(`${state.model} has no attention layers to show`), { userFacing: true });
  const kind = kindObj(info);
  if (state.kind && state.kind !== kind.id && pg.fromUrl.has('kind')) {
    notice(`The link asked for attention “${state.kind}”, which ${state.model} does not have; showing ${kind.label}.`);
    pg.fromUrl.delete('kind');
  }
  state.kind = kind.id;
  const n = kind.names.length;
  setOptionPairs($('kind'), kinds.map((k) => [k.id, k.label]), kind.id);
  setOptionPairs($('layer'), Array.from({ length: n }, (_, l) => [l, `layer ${l}`]), state.layer);
  const encDec = info.arch === 'encoder_decoder';
  $('target-label').hidden = !encDec;
  let target = null;
  if (encDec) {
    if (!state.target.trim()) {
      state.target = await defaultTarget(state.model, state.text);
      $('target').value = state.target;
    }
    target = state.target;
  }
  // Opening on a labelled head needs the labels first.
  let scores = null;
  const wanted = pickHead ? signatureLabel(kind, encDec, state.text) : null;
  if (wanted) {
    scores = await headScores(state.model);
    const head = signatureHead(scores, kind, wanted);
    if (head) { state.layer = head.layer; state.head = String(head.head); }
  }
  if (!isLatest()) return;
  pickHead = false;
  pg.clamp('layer', 0, n - 1, 'layer');
  // The first picture: the chosen layer only.
  const out = await fetchPattern(state.model, state.text, target, kind.names[state.layer]);
  if (!isLatest()) return;
  const cur = { info, kind, target, toks: { tokens: out.tokens, target_tokens: out.target_tokens || out.tokens },
    layers: new Array(n).fill(null), pending: new Map(), scores, timeline: null, snap: null, loading: true };
  cur.layers[state.layer] = out.act;
  current = cur;
  if (state.token === null && !encDec) state.token = defaultToken(cur.toks.tokens);
  showHeadsNote(scores);
  renderGridShell();
  drawGridLayer(state.layer);
  showUnknown(out.tokens, encDec ? out.target_tokens : undefined);
  $('status').textContent = `${state.model}: ${cur.toks[kind.q].length} query tokens, ${n} layers × ${nHeads(info)} heads (${kind.label})`;
  await update();
  if (!isLatest()) return;
  // Then the rest: every other layer (in order, one request at a time), the head labels, the training timeline.
  const [, sc, tl] = await Promise.all([loadAllLayers(cur), scores || headScores(state.model), encDec ? null : timeline(state.model)]);
  if (!isLatest() || current !== cur) return;
  cur.scores = sc;
  cur.timeline = tl && tl.steps.length ? tl : null;
  if (state.step !== null && cur.timeline && !cur.timeline.steps.includes(state.step) && pg.fromUrl.has('step')) {
    notice(`The link asked for training step ${state.step}, which ${state.model} did not keep (kept: ${cur.timeline.steps.join(', ')}); showing the trained model.`);
    pg.fromUrl.delete('step');
  }
  showHeadsNote(sc);
  relabel($('grid'), headLabel);
  await loadSnapshot();
  if (!isLatest() || current !== cur) return;
  if (cur.snap) renderGrid();
  cur.loading = false;
  await update();
}

// The head a view opens on when the link names none: a translator's cross-attention opens on its first head
// labelled "alignment"; a decoder's self-attention on a text with a repeated passage (a run of three words seen
// before) opens on its best "induction" head, whose pattern then shows the second copy looking one token past the
// first. Returns the label to look for, or null (open on layer 0, mean over heads).
function signatureLabel(kind, encDec, text) {
  if (kind.id === 'cross') return 'alignment';
  if (encDec || kind.q !== kind.k) return null;
  const words = text.toLowerCase().split(/\s+/).filter(Boolean);
  const seen = new Set();
  for (let i = 2; i < words.length; i += 1) {
    const run = words.slice(i - 2, i + 1).join(' ');
    if (seen.has(run)) return 'induction';
    seen.add(run);
  }
  return null;
}

function signatureHead(scores, kind, label) {
  const heads = ((scores && scores.heads) || []).filter((e) => e.labels.includes(label)
    && (label === 'alignment' ? e.name.endsWith('.cross_attn') : !e.name.endsWith('.cross_attn')));
  if (label === 'alignment') return heads[0] || null;
  return heads.reduce((a, b) => (!a || b.scores[label] > a.scores[label] ? b : a), null);
}

// The default query token of a decoder text, chosen from its tokens (word-level or subword alike): "it" when
// the text has one (its pattern shows what it refers to); else, in a repeated passage, a token of the second
// copy whose three previous tokens already occurred together (an induction head would look at the token after
// that earlier occurrence); else the last token (update() does that when this returns null).
function defaultToken(tokens) {
  const words = tokens.map((t) => String(t).trim().toLowerCase());
  const it = words.indexOf('it');
  if (it > 0) return it;
  const key = (i) => tokens.slice(i - 3, i).join('\u0000');
  const seen = new Set();
  let best = null;
  for (let i = 3; i < tokens.length; i += 1) {
    if (seen.has(key(i)) && best === null) best = i;
    seen.add(key(i));
  }
  return best;
}

page = startPage({
  params: { model: param.model(), text: param.text(), target: param.text(), kind: param.str('', { choices: ['', 'self', 'cross', 'encoder', 'decoder'] }),
    layer: param.int(0, { min: 0 }), head: param.str('mean', { max: 8 }), token: param.int(null, { min: 0, nullable: true }),
    step: param.int(null, { min: 0, nullable: true }) },
  examples: EXAMPLES, run, busy: 'running the model…',
  onModelChange: () => {
    state.target = '';
    $('target').value = '';
    state.kind = '';
    state.layer = 0;
    state.head = 'mean';
    state.step = null;
    pickHead = true;
    state.token = null;
  },
});
state = page.state;
$('text').addEventListener('change', () => { state.token = null; });
$('kind').addEventListener('change', () => { state.kind = $('kind').value; state.token = null; page.run(); });
$('layer').addEventListener('change', () => { state.layer = Number($('layer').value); update(); });
$('head').addEventListener('change', () => { state.head = $('head').value; update(); });
$('step').addEventListener('input', () => selectStep(Number($('step').value)));
$('chips').addEventListener('keydown', (e) => {
  if (!current) return;
  const n = current.toks[current.kind.q].length;
  const moves = { ArrowLeft: state.token - 1, ArrowRight: state.token + 1, ArrowUp: state.token - 1, ArrowDown: state.token + 1, Home: 0, End: n - 1 };
  if (e.key in moves) { e.preventDefault(); selectToken(moves[e.key], true); }
});
// Arrow keys anywhere outside a form field move between tokens too.
document.addEventListener('keydown', (e) => {
  if (!current || e.defaultPrevented || e.altKey || e.ctrlKey || e.metaKey) return;
  if (e.target.closest && e.target.closest('input, select, textarea, .js-plotly-plot, #grid')) return;
  if (e.key === 'ArrowLeft') { e.preventDefault(); selectToken(state.token - 1, true); }
  if (e.key === 'ArrowRight') { e.preventDefault(); selectToken(state.token + 1, true); }
});
window.__xray = { state, current: () => current };
page.run();
