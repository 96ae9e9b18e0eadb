// Sampling playground (/sampling). The server sends the full logits of the predicted position once (`full: true`,
// temperature 1, no filters): POST /api/v1/next-token for a decoder (the position after the last token) and an
// encoder-decoder (after the target so far), POST /api/v1/masked-token for an encoder-only model (BERT: the
// [MASK] the user picks by clicking it; the first one by default). Every slider move re-filters the logits in
// the page with filtering.js (a mirror of model/sampling.py) and redraws the chart. One update is timed with
// performance.mark/measure ('xray-slider-update').
// Step: decoder-only models call POST /api/v1/generate with max_new_tokens=1 and the seed (the server samples);
// the translator's /generate cannot continue a given target and BERT has no /generate, so there the page draws
// the token from the filtered distribution with a seeded PRNG (mulberry32) and says so in the log; on BERT the
// token replaces the chosen [MASK] in the text (fill-mask.js) and the page predicts the next [MASK] left.
import { modelInfo, postJSON } from './api.js';
import { draw as drawPlot, restyle, title } from './chart.js';
import { fillMask } from './fill-mask.js';
import { filterLogits, rankByLogit, mulberry32, sampleIndex } from './filtering.js';
import { $, archOf, isEncDec, startPage } from './page.js';
import { fillToken, tokenLabel, tokenNode, tokenPlotly, tokensText } from './tokens.js';
import { showUnknown } from './unk.js';
import { param } from './url-state.js';
import { ENGLISH } from './examples.js';

const EXAMPLES = { 'english-gpt': { text: ENGLISH.prompt, target: '' },
  decoder: { text: 'the girl dropped the cup . it', target: '' },
  encoder: { text: 'The children walked to the [MASK] after school.', target: '' },
  encoder_decoder: { text: 'the red cat sees the big dog', target: 'le chat' } };
const N_SHOWN = 20; // bars on the chart
const FMT = (v, d = 4) => (Number.isFinite(v) ? v.toFixed(d) : String(v));

let page = null;
let state = null; // page.state: model, text, target, temperature, top_k, top_p, seed (the seed the next Step uses)
let data = null; // {info, vocab, logits, order, tokens, targetTokens, encDec, masked, position, maskPositions}
let result = null; // last filterLogits output
const log = []; // generation steps
let appended = 0; // words appended by Step to the current text (highlighted)
let filled = []; // BERT: positions whose [MASK] Step filled in the current text (highlighted)
let positionText = null; // the text state.position was picked on (a position means nothing in another text)
let justFilled = null; // BERT: {at, nTokens} of the mask Step just filled, until the next answer is drawn
const isMasked = (id) => archOf(id) === 'encoder';

function params() {
  return { temperature: state.temperature, topK: state.top_k, topP: state.top_p };
}

// ---------------------------------------------------------------- the timed update
// The bars are the N_SHOWN most probable words. Temperature, top-k and top-p never reorder them (filtering keeps
// the logit order), so a slider move changes only the bar heights. Plotly needs ~13 ms for even a one-trace
// restyle of 20 bars on a slow machine (it recomputes and redraws the whole trace), so during a drag the page
// moves the bars' SVG paths itself (the y axis is fixed at 0..1, so a height is one multiplication) and keeps
// gd.data in step; SETTLE_MS after the last move a Plotly.restyle brings Plotly's own state (hover texts) up to
// date. A full Plotly.react runs only when the words on the axis change (new text, model or logits). The cost is
// the same for 72 words or 50,000: N_SHOWN bars.
const SETTLE_MS = 150;
let drawnKey = null; // the ids and words on the chart's x axis, as drawn
let settleTimer = null;
const BAR_PATH = /^M([-\d.e+]+),([-\d.e+]+)V[-\d.e+]+H([-\d.e+]+)V[-\d.e+]+Z$/;

// Set the heights of the drawn bars to `ys` (one array per trace) by rewriting their paths. Returns false (and
// touches nothing) if the chart is not the expected shape, so the caller falls back to Plotly.
function moveBars(plot, ys) {
  const ya = plot._fullLayout && plot._fullLayout.yaxis;
  const traces = plot.querySelectorAll('.barlayer .trace');
  if (!ya || typeof ya.c2p !== 'function' || traces.length !== ys.length) return false;
  const edits = [];
  for (let t = 0; t < ys.length; t += 1) {
    const paths = traces[t].querySelectorAll('.point path');
    if (paths.length !== ys[t].length) return false;
    for (let j = 0; j < paths.length; j += 1) {
      const m = BAR_PATH.exec(paths[j].getAttribute('d') || '');
      if (!m) return false;
      edits.push([paths[j], m[1], m[2], m[3], ya.c2p(ys[t][j])]);
    }
  }
  for (const [path, x0, y0, x1, y] of edits) path.setAttribute('d', `M${x0},${y0}V${y.toFixed(2)}H${x1}V${y0}Z`);
  return true;
}

function barData(ids) {
  const { base, probs } = result;
  const words = ids.map((i) => tokenPlotly(data.vocab[i]));
  const after = ids.map((i) => probs[i]);
  const before = ids.map((i) => base[i]);
  const hover = ids.map((i, r) => `${words[r]} (id ${i})<br>p = ${FMT(probs[i], 5)}${probs[i] === 0 ? ' (cut)' : ''}`
    + `<br>before top-k/top-p: ${FMT(base[i], 5)}<br>logit ${FMT(data.logits[i], 3)}`);
  return { words, after, before, hover };
}

function drawChart(ids) {
  const plot = $('plot-probs');
  const { words, after, before, hover } = barData(ids);
  const key = `${ids.join(',')}|${words.join('\u0000')}`; // same ids in another model's vocabulary are other words
  clearTimeout(settleTimer);
  if (key === drawnKey && plot.data && moveBars(plot, [before, after])) {
    plot.data[0].y = before;
    plot.data[1].y = after;
    plot.data[1].hovertext = hover;
    settleTimer = setTimeout(() => restyle(plot, { y: [before, after], hovertext: [null, hover] }, [0, 1]), SETTLE_MS);
    return Promise.resolve();
  }
  const n = ids.length;
  const xs = ids.map((_, r) => r);
  const traces = [
    { type: 'bar', name: 'before top-k / top-p (at this temperature)', x: xs, y: before, hoverinfo: 'skip',
      marker: { color: 'rgba(0,0,0,0)', line: { color: '#7f7f7f', width: 1.5 } } },
    { type: 'bar', name: 'after the filters (sampled from)', x: xs, y: after, hovertext: hover, hoverinfo: 'text',
      // one Viridis colour; the y axis is the labelled 0..1 probability scale (a colourbar would double the
      // cost of each slider redraw and say nothing the axis does not)
      marker: { color: '#31688e' } },
  ];
  const p = data.position;
  const layout = {
    title: data.masked
      ? title(`Token under ${tokenLabel(data.tokens[p])} at position ${p}`, `softmax(hook_logits[${p}] / T), then top-k and top-p`)
      : title('Next word after the input', 'softmax(hook_logits / T), then top-k and top-p'),
    barmode: 'overlay',
    bargap: 0.15,
    height: 380,
    margin: { l: 60, r: 10, t: 92, b: 90 },
    // fixed ranges: no autorange pass on each slider move
    xaxis: { tickmode: 'array', tickvals: xs, ticktext: words, tickangle: -45, range: [-0.5, n - 0.5], autorange: false,
      title: { text: 'candidate (most probable first)' } },
    yaxis: { range: [0, 1], autorange: false, title: { text: 'probability (0 to 1)' } },
    legend: { orientation: 'h', x: 0, y: 1.02, yanchor: 'bottom', font: { size: 11 } },
    paper_bgcolor: '#fff', plot_bgcolor: '#fff',
    font: { family: 'system-ui, sans-serif', size: 11 },
    uirevision: 'keep',
  };
  drawnKey = key;
  return drawPlot(plot, traces, layout, { filename: 'next-word-distribution' });
}

// One slider update, timed from filtering to the last DOM write: filter + chart + stats + table.
function draw() {
  if (!data) return Promise.resolve();
  performance.mark('xray-slider-update-start');
  result = filterLogits(data.logits, params(), data.order);
  const ids = Array.from(result.order.subarray(0, Math.min(N_SHOWN, result.order.length)));
  const drawn = drawChart(ids);
  renderStats();
  renderTable(ids);
  performance.mark('xray-slider-update-end');
  performance.measure('xray-slider-update', 'xray-slider-update-start', 'xray-slider-update-end');
  return drawn;
}

function renderStats() {
  $('stat-entropy').textContent = FMT(result.entropy);
  $('stat-cut-k').textContent = FMT(result.cutByTopK);
  $('stat-cut-p').textContent = FMT(result.cutByTopP);
  $('stat-kept').textContent = `${result.kept} of ${data.logits.length}`;
  $('stat-threshold').textContent = state.top_p === null ? '' : `top-p keeps the most probable words until their mass reaches ${FMT(state.top_p, 2)}`;
  const stats = $('stats');
  stats.dataset.entropy = String(result.entropy);
  stats.dataset.cutByTopK = String(result.cutByTopK);
  stats.dataset.cutByTopP = String(result.cutByTopP);
  stats.dataset.kept = String(result.kept);
}

function cell(text, cls) {
  const td = document.createElement('td');
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
}

function renderTable(ids) {
  const table = $('cand-table');
  const head = document.createElement('tr');
  for (const h of ['#', data.masked ? 'token' : 'word', 'id', 'logit', 'prob before filters', 'prob']) {
    const th = document.createElement('th');
    th.textContent = h;
    head.append(th);
  }
  const rows = ids.map((i, r) => {
    const tr = document.createElement('tr');
    tr.dataset.id = String(i);
    tr.dataset.prob = String(result.probs[i]);
    tr.dataset.base = String(result.base[i]);
    if (result.probs[i] === 0) tr.className = 'cut';
    const word = cell('', 'mono');
    word.append(tokenNode(data.vocab[i]));
    tr.append(cell(String(r + 1)), word, cell(String(i), 'num'), cell(FMT(data.logits[i], 3), 'num'),
      cell(FMT(result.base[i]), 'num'), cell(FMT(result.probs[i]), 'num'));
    return tr;
  });
  table.replaceChildren(head, ...rows);
}

// ---------------------------------------------------------------- controls
function syncSliders() {
  const V = data ? data.logits.length : Number($('top-k').max);
  $('top-k').max = String(V);
  $('temperature').value = String(state.temperature);
  $('top-k').value = String(state.top_k === null ? V : state.top_k);
  $('top-p').value = String(state.top_p === null ? 1 : state.top_p);
  showSliderValues();
}

function showSliderValues() {
  $('temperature-out').textContent = FMT(state.temperature, 2);
  $('top-k-out').textContent = state.top_k === null ? 'off' : String(state.top_k);
  $('top-p-out').textContent = state.top_p === null ? 'off (1)' : FMT(state.top_p, 2);
}

function readSliders() {
  const V = Number($('top-k').max);
  state.temperature = Number($('temperature').value);
  const k = Number($('top-k').value);
  state.top_k = k >= V ? null : k;
  const p = Number($('top-p').value);
  state.top_p = p >= 1 ? null : p;
  showSliderValues();
}

function saveUrl() { page.save(); }

function renderPrompt() {
  if (data.masked) { renderMasked(); return; }
  const shown = data.encDec ? data.targetTokens : data.tokens;
  const lines = [];
  if (data.encDec) lines.push(el('div', [`source: ${tokensText(data.tokens)}`]));
  const line = el('div', data.encDec ? ['target: '] : []);
  shown.forEach((t, i) => {
    const s = tokenNode(t);
    if (i >= shown.length - appended) s.classList.add('new');
    line.append(s, ' ');
  });
  const q = el('span', ['▮ ?']);
  q.className = 'muted';
  line.append(q);
  lines.push(line);
  $('prompt-view').replaceChildren(...lines);
  showUnknown(data.tokens, data.encDec ? data.targetTokens : undefined);
}

// BERT: every token of the input, each mask token a button; the one predicted is pressed.
function renderMasked() {
  const line = el('div', []);
  data.tokens.forEach((t, i) => {
    let node;
    if (data.maskPositions.includes(i)) {
      node = document.createElement('button');
      node.type = 'button';
      node.className = 'chip mask-tok';
      fillToken(node, t);
      node.dataset.position = String(i);
      node.setAttribute('aria-pressed', String(i === data.position));
      node.title = i === data.position ? `the ${tokenLabel(t)} predicted (position ${i})`
        : `predict this ${tokenLabel(t)} instead (position ${i})`;
      node.addEventListener('click', () => pickMask(i));
    } else {
      node = tokenNode(t);
      if (filled.includes(i)) node.classList.add('new');
    }
    line.append(node, ' ');
  });
  $('prompt-view').replaceChildren(line);
  showUnknown(data.tokens);
}

function pickMask(position) {
  if (position === data.position) return;
  state.position = position;
  positionText = state.text;
  page.run();
}

function el(tag, children) {
  const e = document.createElement(tag);
  e.append(...children);
  return e;
}

function renderLog() {
  $('step-log').replaceChildren(...log.map((s) => {
    const li = document.createElement('li');
    li.dataset.token = s.token;
    li.dataset.id = String(s.id);
    li.dataset.prob = String(s.prob);
    li.dataset.seed = String(s.seed);
    const where = s.position === undefined ? '' : ` at position ${s.position}`;
    li.textContent = `“${tokenLabel(s.token)}”${where}  p = ${FMT(s.prob)}   (T = ${s.temperature}, top-k ${s.top_k ?? 'off'}, top-p ${s.top_p ?? 'off'}, seed ${s.seed}; ${s.how})`;
    return li;
  }));
}

async function fetchLogits() {
  const info = await modelInfo(state.model);
  const encDec = isEncDec(state.model);
  const masked = isMasked(state.model);
  // No filters at T = 1, so the candidates (token strings) are the N_SHOWN highest logits: the words a subword
  // model's chart and table show (it sends no vocabulary); any other id is shown as #id.
  const body = { model: state.model, text: state.text, temperature: 1, n_candidates: N_SHOWN, full: true };
  if (encDec) body.target = state.target;
  if (masked && state.text !== positionText) state.position = null;  // picked on another text
  if (masked && state.position !== null) body.position = state.position;
  const out = await postJSON(masked ? '/api/v1/masked-token' : '/api/v1/next-token', body);
  const V = out.logits.length;
  const named = new Map(out.candidates.map((c) => [c.id, c.token]));
  const vocab = info.vocab && info.vocab.length === V ? info.vocab
    : Array.from({ length: V }, (_, i) => (named.has(i) ? named.get(i) : `#${i}`));
  data = { info, vocab, logits: Float64Array.from(out.logits), tokens: out.tokens, targetTokens: out.target_tokens || [], encDec,
    masked, position: masked ? out.position : null, maskPositions: masked ? out.mask_positions : [], server: out };
  data.order = rankByLogit(data.logits);
  if (masked) { state.position = out.position; positionText = state.text; }
  // the filled position stays where it was unless the new text was cut into another number of tokens
  if (justFilled) filled = masked && data.tokens.length === justFilled.nTokens ? [...filled, justFilled.at] : [];
  justFilled = null;
}

function describeMode() {
  const mask = data.masked ? tokenLabel(data.tokens[data.position]) : '';
  $('mode-note').textContent = data.masked
    ? `${state.model} is an encoder (masked-LM): it reads the whole text at once, both sides of each ${mask}, and `
      + `predicts the token hidden under one of them. Click a ${mask} to predict it instead.`
    : 'The model\'s distribution over the next word.';
  $('run').textContent = data.masked ? `Predict the ${mask}` : 'Get next-word distribution';
  $('step').textContent = data.masked ? `Step: fill the ${mask} with a sampled token` : 'Step: sample one word';
  $('stat-kept-label').textContent = data.masked ? 'tokens left' : 'words left';
  $('prompt-title').textContent = data.masked ? `Input (the pressed ${mask} is predicted)` : 'Input';
  if (data.masked) {
    const others = data.maskPositions.length - 1;
    $('status').textContent = `${state.model}: the ${mask} at position ${data.position}`
      + `${others ? ` (${others} more in the text)` : ''}; ${data.logits.length} tokens in the vocabulary`;
    $('step-note').textContent = `The token is drawn in the page from the filtered distribution with a seeded generator `
      + `(mulberry32) and written into the text in place of this ${mask}; the page then predicts the first ${mask} left.`;
  } else {
    $('status').textContent = `${state.model}: ${data.logits.length} words in the vocabulary`;
    $('step-note').textContent = data.encDec
      ? 'Translator: the word is drawn in the page from the filtered distribution with a seeded generator (mulberry32).'
      : 'The server samples the word (POST /api/v1/generate, max_new_tokens = 1, with this seed).';
  }
}

async function run(pg, isLatest) {
  await fetchLogits();
  if (!isLatest()) return;
  $('target-label').hidden = !data.encDec;
  $('text-label').textContent = data.encDec ? 'Source text' : 'Text';
  if (state.top_k !== null && state.top_k >= data.logits.length) state.top_k = null;
  syncSliders();
  renderPrompt();
  describeMode();
  $('step').disabled = false;
  await draw();
}

async function step() {
  if (!data) return;
  const btn = $('step');
  btn.disabled = true;
  $('error').textContent = '';
  document.body.dataset.ready = 'false';
  const seed = state.seed;
  try {
    let token;
    let id;
    let prob;
    let how;
    let written = null; // the generated text as the server detokenized it (decoder-only)
    if (data.masked) {
      await fillOne(seed);
      return;
    }
    if (!data.encDec) {
      const body = { model: state.model, text: state.text, max_new_tokens: 1, temperature: state.temperature, seed };
      if (state.top_k !== null) body.top_k = state.top_k;
      if (state.top_p !== null) body.top_p = state.top_p;
      const out = await postJSON('/api/v1/generate', body, { cache: false });
      if (!out.steps.length) throw new Error('the model cannot take more words (context full)');
      ({ token, id, prob } = out.steps[0]);
      written = out.text;
      how = 'sampled by the server';
    } else {
      id = sampleIndex(result.probs, result.order, mulberry32(seed)());
      token = data.vocab[id];
      prob = result.probs[id];
      how = 'sampled in the page';
    }
    log.push({ token, id, prob, temperature: state.temperature, top_k: state.top_k, top_p: state.top_p, seed, how });
    renderLog();
    // the seed box always shows the seed the next Step will use
    state.seed = seed + 1;
    $('seed').value = String(state.seed);
    saveUrl();
    if (token === '<eos>') {
      $('status').textContent = 'the model chose <eos>: the sequence ends here';
      document.body.dataset.ready = 'true';
      return;
    }
    // A word-level vocabulary (sent with the model's details) writes words apart; a subword token carries its
    // own leading space or none (a continuation: "walk" + "ing"), so it is appended as it is.
    const wordLevel = Boolean(data.info.vocab);
    const add = (text, piece) => (wordLevel ? `${text} ${piece}`.trim() : text + piece);
    if (data.encDec) state.target = add(state.target, token); else state.text = add(state.text, written ?? token);
    $('text').value = state.text;
    $('target').value = state.target;
    appended += 1;
    await page.run();
    return;
  } catch (e) {
    $('error').textContent = e.message;
    document.body.dataset.ready = 'error';
  } finally {
    btn.disabled = Boolean(data && data.done);
  }
}

// BERT: draw a token for the pressed mask, write it into the text in its place, then predict the first mask left.
async function fillOne(seed) {
  const id = sampleIndex(result.probs, result.order, mulberry32(seed)());
  const token = data.vocab[id];
  const mask = data.tokens[data.position];
  const ordinal = data.maskPositions.indexOf(data.position);
  const { tokenizer } = await postJSON('/api/v1/tokenize', { model: state.model, text: mask });
  const special = tokenizer.specials.some((t) => t.id === id);
  const text = fillMask(state.text, mask, ordinal, token, special);
  if (text === null) throw new Error(`the text does not hold ${data.maskPositions.length} × ${mask} as written; edit it and run again`);
  log.push({ token, id, prob: result.probs[id], temperature: state.temperature, top_k: state.top_k, top_p: state.top_p, seed,
    position: data.position, how: `sampled in the page, written in place of the ${mask}` });
  renderLog();
  state.seed = seed + 1;
  $('seed').value = String(state.seed);
  const nTokens = data.tokens.length;
  const at = data.position;
  state.text = text;
  state.position = null;
  $('text').value = text;
  if (!text.includes(mask)) {
    // nothing left to predict: show the text as filled and stop (the chart is the last prediction)
    filled = [];
    $('prompt-view').replaceChildren(el('div', [text]));
    $('prompt-title').textContent = `Input (every ${mask} filled)`;
    $('status').textContent = `Every ${mask} is filled. Write ${mask} into the text to predict again; the chart still `
      + `shows the prediction for position ${at}.`;
    data.done = true;  // Step stays off until the next run
    saveUrl();
    document.body.dataset.ready = 'true';
    return;
  }
  justFilled = { at, nTokens };
  await page.run();
}

page = startPage({
  params: { model: param.model(), text: param.text(), target: param.text(), temperature: param.num(1, { min: 0.05, max: 3 }),
    top_k: param.int(null, { min: 1, nullable: true }), top_p: param.num(null, { min: 0.01, max: 1, nullable: true }),
    seed: param.int(0, { min: 0, max: 2 ** 31 - 1 }), position: param.int(null, { min: 0, nullable: true }) },
  examples: EXAMPLES, run, busy: 'running the model…',
  onModelChange: () => { state.top_k = null; state.position = null; appended = 0; filled = []; },
});
state = page.state;
positionText = state.text;  // a position in the link belongs to the link's text
if (state.top_p === 1) state.top_p = null;
$('seed').value = String(state.seed);
syncSliders();
$('page-form').addEventListener('submit', () => { appended = 0; filled = []; });
for (const id of ['temperature', 'top-k', 'top-p']) {
  $(id).addEventListener('input', () => { readSliders(); draw(); });
  $(id).addEventListener('change', saveUrl);
}
$('seed').addEventListener('change', () => {
  const v = Math.floor(Number($('seed').value));
  state.seed = Number.isFinite(v) && v >= 0 ? v : 0;
  $('seed').value = String(state.seed);
  saveUrl();
});
$('step').addEventListener('click', step);

// Test hook: replace the logits (e.g. a synthetic 50,000-word vocabulary) and redraw.
window.__xray = {
  state,
  result: () => result,
  data: () => data,
  setLogits(logits, vocab) {
    const V = logits.length;
    data = { ...(data || { tokens: [], targetTokens: [], encDec: false }), logits: Float64Array.from(logits),
      vocab: vocab || Array.from({ length: V }, (_, i) => `w${i}`) };
    data.order = rankByLogit(data.logits);
    state.top_k = null;
    syncSliders();
    draw();
  },
};
page.run();
