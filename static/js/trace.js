// /trace: step through one forward pass. The steps are the model's own (GET /api/v1/models/{id}: `steps`, one per
// activation in forward order, each with its title, sentence, stage and the activations drawn with it; `stages`,
// the parts of the pass with the `names` globs that fetch them), so the page knows no architecture: how a step is
// drawn follows from its dims. Every number drawn is an activation returned by POST /api/v1/trace. The page fetches
// the activations one stage at a time (a stack's input, one block, the output), only when a step needs them,
// keeps every fetched stage for the current (model, text, target) and fetches the next one in the background
// once a step is drawn.
import { getJSON, modelInfo, postJSON } from './api.js';
import { purge, whenIdle } from './chart.js';
import { heatmap, bars } from './heatmap.js';
import { el, setOptionPairs, setOptions } from './dom.js';
import { $, notice, startPage } from './page.js';
import { fillToken, tokenLabel, tokenNode } from './tokens.js';
import { showUnknown } from './unk.js';
import { param } from './url-state.js';

// The page's URL state (ui: step, token, head, goto) is kept by page.js; `state` holds what was fetched.
// token null = the last token of the text (the one whose next token the model predicts), not <bos>.
const state = { info: null, data: null, groups: [], steps: [] };
let ui = null;
let page = null;

// ---------------------------------------------------------------- the steps of the forward pass
const HEAD_DIMS = ['head', 'kv_head'];

/** How a step is drawn, from the dims of its activation (and a view's merged dims). */
function drawKind(dims, merge) {
  if (merge) return 'concat';
  if (dims.length === 3 && dims[0] === 'head') return 'attn';  // [head, query_pos, key_pos]
  if (dims.length === 3 && HEAD_DIMS.includes(dims[1])) return 'headvec';  // [pos, head, d_*]
  if (dims.length === 2 && dims[1] === 'd_vocab') return 'logits';
  if (dims.length === 2) return 'vec';  // [pos, d_*]
  return 'scalar';  // [pos]: one number per token
}

/** The page's steps from the model's: a token-ids table where a stack reads its tokens, then every step that is
 *  not drawn inside another (K, V with Q; a norm's statistics with its normalized value), then its extra views. */
function buildSteps(info) {
  const byHook = new Map(info.steps.map((s) => [s.hook, s]));
  const stageIndex = new Map(info.stages.map((st, i) => [st.id, i]));
  const steps = [];
  let last = null;
  for (const s of info.steps) {
    if (s.part_of) continue;
    const group = stageIndex.get(s.stage);
    const stage = info.stages[group];
    if (s.stage !== last && stage.reads_tokens) {
      steps.push({ kind: 'tokens', name: null, title: `${stage.title}: token ids`, stage: s.stage, group, side: stage.side,
        text: info.vocab ? 'The text is split into words; each word is looked up in the vocabulary to get its id.'
          : 'The text is split into tokens by the model\'s tokenizer (subword pieces: a leading-space mark · shows a '
            + 'piece that starts a word); each token has an id in the vocabulary.' });
    }
    last = s.stage;
    const base = { name: s.hook, api: s, dims: s.dims, stage: s.stage, group, side: s.positions.pos || s.positions.query_pos || stage.side,
      companions: s.with.map((h) => byHook.get(h)) };
    steps.push({ ...base, kind: drawKind(s.dims), title: s.title, text: s.text });
    for (const v of s.views) steps.push({ ...base, kind: drawKind(s.dims, v.merge), title: v.title, text: v.text, merge: v.merge });
  }
  return steps;
}

/** The activation names a step draws: its own and those drawn with it. */
function namesOf(s) {
  return s.name ? [s.name, ...s.companions.map((c) => c.hook)] : [];
}

/** The promise of group `gi` of the current input: one POST per group (api.js keeps it, in flight or answered,
 *  and drops a failed one so that the next visit asks again). Each answer's activations are merged into
 *  state.data.acts. */
function fetchGroup(gi) {
  const d = state.data;
  return postJSON('/api/v1/trace', { ...d.body, names: state.groups[gi].names }).then((r) => {
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
  $('layer').value = s.stage;
  page.save();
  if (d.loaded.has(s.group)) {
    document.body.dataset.ready = 'false';
    return drawStep().then(whenIdle).then(() => { if (state.data === d && ui.step === step) document.body.dataset.ready = 'true'; },
      (e) => showError(e));
  }
  document.body.dataset.ready = 'false';
  $('step-loading').textContent = `loading ${state.groups[s.group].title.toLowerCase()}…`;
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
  let facts = '';
  const draws = [];
  const rowOpts = { y: toks, yTokens: true, yTitle: 'token', highlightRow: t };
  if (s.kind === 'tokens') {
    drawTokenTable(main, toks, t, s.side);
    side.hidden = true;
  } else {
    main.querySelector('.table-wrap')?.remove();  // the token-ids table; Plotly's own nodes stay for react()
    const a = act(s.name);
    const perHead = s.companions.filter((c) => c.dims.length === 3);
    const scalars = s.companions.filter((c) => c.dims.length === 1);
    const short = (name) => leaf(name).replace(/^hook_/, '');
    $('step-name').textContent = perHead.length  // "….hook_q / hook_k / hook_v   q [..] (..)   k [..] (..)   v [..] (..)"
      ? `${[s.name, ...perHead.map((c) => leaf(c.hook))].join(' / ')}   ${short(s.name)} ${shapeText(a)}   `
        + perHead.map((c) => `${short(c.hook)} ${shapeText(act(c.hook))}`).join('   ')
      : `${s.name}   ${shapeText(a)}`;
    // statistics drawn with this step (a norm's mean and scale): their values at the chosen token
    if (scalars.length) facts = ` Token ${t} ${quoted(toks[t])}: ${scalars.map((c) => `${c.name} ${fmt(act(c.hook).data[t])}`).join(', ')}.`;
    if (s.kind === 'vec') {
      draws.push(heatmap(main, { ...rowOpts, z: a.data, xTitle: a.dims[1], title: `${s.title}: every token`, hook: s.name,
        colorbar: ['activation', 'unitless'], symmetric: true }));
      draws.push(bars(side, { y: a.data[t], title: `Token ${t} ${quoted(toks[t])}`, hook: s.name, xTitle: a.dims[1], yTitle: 'value' }));
      if (perHead.length) draws.push(...drawCompanions(side, perHead, h));
    } else if (s.kind === 'scalar') {
      draws.push(heatmap(main, { ...rowOpts, z: a.data.map((v) => [v]), x: [s.api.name], title: `${s.title}: every token`,
        hook: s.name, colorbar: ['value', 'unitless'] }));
      draws.push(bars(side, { x: toks, xTokens: true, y: a.data, title: 'Every token', hook: s.name, xTitle: 'token', yTitle: 'value' }));
    } else if (s.kind === 'headvec') {
      const hh = headOf(h, a);
      const z = headSlice(a.data, hh);
      draws.push(heatmap(main, { ...rowOpts, z, xTitle: a.dims[2], title: `${headName(a, hh)}, every token`, hook: s.name,
        colorbar: ['activation', 'unitless'], symmetric: true }));
      if (perHead.length) {
        draws.push(...drawCompanions(side, perHead, h));
      } else {
        draws.push(bars(side, { y: z[t], title: `${headName(a, hh)}, token ${t} ${quoted(toks[t])}`, hook: s.name, xTitle: a.dims[2], yTitle: 'value' }));
      }
    } else if (s.kind === 'attn') {
      const kToks = tokensOf(s.api.positions.key_pos);
      const pattern = s.name.endsWith('hook_pattern');
      draws.push(heatmap(main, { ...rowOpts, yTitle: 'query', z: a.data[h], x: kToks, xTokens: true, xTitle: 'key', title: `${s.title}, head ${h}`,
        hook: s.name, zmin: pattern ? 0 : undefined, zmax: pattern ? 1 : undefined,
        colorbar: pattern ? ['attention weight', '0 to 1'] : ['score', 'unitless; blank = −∞'] }));
      draws.push(bars(side, { x: kToks, xTokens: true, y: a.data[h][t].map((v) => (v === null ? 0 : v)),
        title: `Query ${t} ${quoted(toks[t])} (masked keys: 0 bar, −∞)`, hook: s.name, xTitle: 'key', yTitle: pattern ? 'weight' : 'score' }));
    } else if (s.kind === 'concat') {
      const [, H, dh] = a.shape;
      const z = a.data.map((row) => row.flat());  // [pos, head, d_head] -> [pos, head·d_head], head-major
      const x = z[0].map((_, i) => `h${Math.floor(i / dh)}·${i % dh}`);
      const merged = s.merge.join('·');
      $('step-name').textContent = `${s.name}   ${shapeText(a)}  →  concatenated [${a.shape[0]}, ${H * dh}]  (${a.dims[0]}, ${merged})`;
      draws.push(heatmap(main, { ...rowOpts, z, x, title: `Heads 0–${H - 1} side by side, head ${h} outlined`, hook: s.name, xTitle: merged,
        colGroup: dh, highlightCols: [h * dh, h * dh + dh - 1], colorbar: ['activation', 'unitless'], symmetric: true }));
      draws.push(bars(side, { x, y: z[t], title: `Token ${t} ${quoted(toks[t])}: the concatenated vector`, hook: s.name, xTitle: merged,
        yTitle: 'value', colors: x.map((_, i) => (Math.floor(i / dh) === h ? '#d62728' : '#3b528b')) }));
    } else if (s.kind === 'logits') {
      const vocab = state.info.vocab;
      const probs = s.name === 'hook_probs';
      const small = vocab && vocab.length <= 500;
      draws.push(heatmap(main, { ...rowOpts, z: a.data, x: small ? vocab.map(tokenLabel) : undefined,
        title: probs ? 'Probabilities, every token × vocabulary' : 'Logits, every token × vocabulary', hook: s.name,
        xTitle: small ? 'token' : 'token id', colorbar: probs ? ['probability', '0 to 1'] : ['logit', 'unitless'],
        ...(probs ? { zmin: 0, zmax: 1 } : {}) }));
      const row = a.data[t].map((v, i) => [v, i]).sort((p, q) => q[0] - p[0]).slice(0, 10);
      // a subword vocabulary is not in the model's details: the ten tokens' strings are asked for by id
      const words = vocab ? row.map(([, i]) => vocab[i]) : await tokenStrings(row.map(([, i]) => i));
      draws.push(bars(side, { x: words.map((w) => (vocab ? w : tokenLabel(w))), xTokens: false, y: row.map(([v]) => v),
        title: `At ${quoted(toks[t])}: the top 10`, hook: s.name, xTitle: 'token', yTitle: probs ? 'probability' : 'logit' }));
    }
  }
  $('step-text').textContent = s.text + facts;
  $('status').textContent = `${state.data.tokens.length} tokens · ${state.data.loaded.size} of ${state.groups.length} parts of the forward pass fetched`;
  if (s.group + 1 < state.groups.length) fetchGroup(s.group + 1).catch(() => {});  // prefetch; a failure shows when the step is visited
  await Promise.all(draws);
}

const leaf = (name) => name.slice(name.lastIndexOf('.') + 1);

/** The display strings of token ids (GET /api/v1/models/{id}/tokens; kept by api.js's cache). */
function tokenStrings(ids) {
  return getJSON(`/api/v1/models/${encodeURIComponent(state.info.id)}/tokens?ids=${ids.join(',')}`)
    .then((r) => r.tokens.map((x) => x.token));
}

/** The head of activation `a` that query head h reads: h itself, or under grouped-query attention (a `kv_head`
 *  dim with fewer heads) the key/value head h // (query heads per key/value head). */
function headOf(h, a) {
  const n = a.shape[1];
  return a.dims[1] === 'kv_head' ? Math.floor(h / (state.info.config.n_heads / n)) : Math.min(h, n - 1);
}
function headName(a, hh) { return a.dims[1] === 'kv_head' ? `key/value head ${hh}` : `head ${hh}`; }

/** The per-head activations drawn beside a step (K and V beside Q): the chosen head's, side by side. */
function drawCompanions(side, comps, h) {
  const acts = comps.map((c) => act(c.hook));
  const kToks = tokensOf(comps[0].positions.key_pos || comps[0].positions.pos);
  const hh = headOf(h, acts[0]);
  const z = acts[0].data.map((_, i) => acts.flatMap((a, j) => [...(j ? [null] : []), ...a.data[i][hh]]));
  const x = acts.flatMap((a, j) => [...(j ? [' '] : []), ...a.data[0][hh].map((_, i) => `${leaf(comps[j].hook).replace('hook_', '')}${i}`)]);
  const names = comps.map((c) => leaf(c.hook).replace('hook_', '')).join(' | ');
  return [heatmap(side, { z, x, y: kToks, yTokens: true, yTitle: comps[0].positions.key_pos ? 'key' : 'token',
    title: `${names}, ${headName(acts[0], hh)}`, hook: comps.map((c) => c.hook).join(' | '), xTitle: `${acts[0].dims[2]} (${names})`,
    colorbar: ['activation', 'unitless'], symmetric: true })];
}

function drawTokenTable(main, toks, t, side) {
  const given = side !== 'target' && state.data.ids && state.data.ids.length === toks.length ? state.data.ids : null;
  const ids = toks.map((w, i) => (state.info.vocab ? state.info.vocab.indexOf(w) : given ? given[i] : null));
  $('step-name').textContent = `tokens  [${toks.length}]  (pos)`;
  purge(main);
  const cell = (child, i, extra = {}) => el('td', { className: `mono${i === t ? ' sel' : ''}`, ...extra }, [child]);
  main.replaceChildren(el('div', { className: 'table-wrap' }, [el('table', { className: 'token-table' }, [
    el('tr', {}, [el('th', { textContent: 'pos' }), ...toks.map((_, i) => el('td', { textContent: String(i) }))]),
    el('tr', {}, [el('th', { textContent: 'token' }), ...toks.map((w, i) => cell(tokenNode(w), i))]),
    el('tr', {}, [el('th', { textContent: 'id' }), ...ids.map((id, i) => cell(String(id ?? '?'), i, { dataset: { testid: 'token-id' } }))])])]));
}

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
  let lastStage = null;
  const titles = new Map(state.groups.map((g) => [g.id, g.title]));
  $('step-list').replaceChildren(...state.steps.map((s, i) => {
    const li = el('li', { dataset: { name: s.name || 'tokens' } });
    if (s.stage !== lastStage) {
      li.classList.add('group-start');
      li.dataset.stage = titles.get(s.stage);  // shown above the stage's first step (CSS), not part of its text
    }
    lastStage = s.stage;
    li.append(el('button', { type: 'button', className: 'step-link', textContent: s.title, tabIndex: -1,
      onclick: () => { ui.step = i; showStep(); } }));
    return li;
  }));
}

// ---------------------------------------------------------------- loading
async function loadModel(id) {
  state.info = await modelInfo(id);
  state.steps = buildSteps(state.info);
  state.groups = state.info.stages;
  const cfg = state.info.config;
  $('target-label').hidden = state.info.arch !== 'encoder_decoder';
  const heads = Array.from({ length: cfg.n_heads }, (_, i) => i);
  setOptions($('head'), heads, heads.map((i) => `head ${i}`));
  page.clamp('head', 0, cfg.n_heads - 1, 'head');
  $('head').value = String(ui.head);
  setOptionPairs($('layer'), state.groups.map((g) => [g.id, g.title]));
  renderStepList();
}

/** The step a `goto` name opens: the step drawing that activation (K and V open the Q, K, V step; a norm's mean or
 *  scale its normalized value). */
function gotoStep(name) {
  const i = state.steps.findIndex((s) => namesOf(s).includes(name));
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
$('layer').addEventListener('change', () => { ui.step = state.steps.findIndex((s) => s.stage === $('layer').value); showStep(); });
document.addEventListener('keydown', (e) => {
  if (!state.data?.tokens || ['INPUT', 'SELECT', 'TEXTAREA'].includes(e.target.tagName) || e.altKey || e.ctrlKey || e.metaKey) return;
  if (e.key === 'ArrowRight') { ui.step += 1; showStep(); e.preventDefault(); }
  if (e.key === 'ArrowLeft') { ui.step -= 1; showStep(); e.preventDefault(); }
});
page.run();
