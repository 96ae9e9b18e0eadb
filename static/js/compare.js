// Compare page: two sides (model + temperature + mask) on one shared sentence. Loss and metrics curves come
// from each model's training record (GET /api/v1/models/{id}), next-word distributions from POST /api/v1/next-token,
// attention patterns from POST /api/v1/masked-attention (decoders, with the side's mask) or POST /api/v1/trace
// (encoder self-attention of an encoder-decoder), head labels from GET /api/v1/models/{id}/heads.
// Every user-provided string reaches the DOM through textContent, and Plotly through plotlyText().
import { headScores, modelInfo, postJSON } from './api.js';
import { showUnknown } from './unk.js';
import { draw, plotlyText, purge, title } from './chart.js';
import { bars, heatmap } from './heatmap.js';
import { EXAMPLES, exampleFor as pickExample } from './examples.js';
import { $, archOf as archOfId, boot, runPage, startPage } from './page.js';
import { tokenNode, tokenPlotly, tokensText } from './tokens.js';
import { param } from './url-state.js';
import { fillModels } from './model-picker.js';

// Okabe-Ito colours (colour-blind safe): A blue, B vermillion.
const COLOURS = { a: '#0072B2', b: '#D55E00' };
// ColorBrewer PuOr (diverging, colour-blind safe): orange = A larger, purple = B larger, white = equal.
const DIVERGING = [[0, '#542788'], [0.1, '#8073ac'], [0.25, '#b2abd2'], [0.4, '#d8daeb'], [0.5, '#f7f7f7'],
  [0.6, '#fee0b6'], [0.75, '#fdb863'], [0.9, '#e08214'], [1, '#b35806']];
const DASHES = ['solid', 'dash', 'dot', 'dashdot'];
const THRESHOLD = 0.95;
const NUM = new Intl.NumberFormat('en', { maximumSignificantDigits: 4 });

const modelIds = boot.models.map((m) => m.id);
const archOf = Object.fromEntries(boot.models.map((m) => [m.id, m.arch]));
// Opens on a pair that shows a breakage: the real-text reference against its variant without residual
// connections (then the course's tiny-gpt pair); with neither pair loaded, the default model against another
// model of its architecture.
const BREAKAGE_PAIRS = [['english-gpt-short', 'english-gpt-short-no-residual'], ['tiny-gpt', 'tiny-gpt-no-residual']];
const pair = BREAKAGE_PAIRS.find(([a, b]) => modelIds.includes(a) && modelIds.includes(b));
const defaultA = pair ? pair[0] : (boot.default && modelIds.includes(boot.default) ? boot.default : modelIds[0]);
const defaultB = pair ? pair[1]
  : modelIds.find((m) => m !== defaultA && archOf[m] === archOf[defaultA]) || modelIds[1] || defaultA;
const exampleFor = (model) => pickExample(EXAMPLES, model, archOfId(model)).text;
const PARAMS = {
  a_model: param.model(defaultA), a_temp: param.num(1, { min: 0.05, max: 5 }), a_mask: param.str('causal', { choices: ['causal', 'none'] }),
  b_model: param.model(defaultB), b_temp: param.num(1, { min: 0.05, max: 5 }), b_mask: param.str('causal', { choices: ['causal', 'none'] }),
  text: param.text(''), layer: param.int(0, { min: 0 }), head: param.int(0, { min: 0 }),
};
let page = null;
let state = null;
let sides = { a: null, b: null }; // per side: {model, detail, next, attention: {tokens, patterns}, heads}

function setStatus(msg) { $('status').textContent = msg; }
function option(sel, value, label) {
  const o = document.createElement('option');
  o.value = String(value);
  o.textContent = label;
  sel.appendChild(o);
}
function cell(row, text, tag = 'td') {
  const c = document.createElement(tag);
  c.textContent = text;
  row.appendChild(c);
  return c;
}
const INT = new Intl.NumberFormat('en', { maximumFractionDigits: 0 });
function fmt(v) {
  if (v === null || v === undefined) return '—';
  return Number.isInteger(v) && Math.abs(v) >= 1000 ? INT.format(v) : NUM.format(v); // counts in full, not 109,400
}

const detailOf = modelInfo;
const headsOf = headScores;

function readForm() {
  for (const s of ['a', 'b']) {
    state[`${s}_model`] = $(`${s}-model`).value;
    const t = Number($(`${s}-temperature`).value);
    state[`${s}_temp`] = Number.isFinite(t) ? t : NaN;
    state[`${s}_mask`] = $(`${s}-mask`).value;
  }
  state.text = $('text').value;
}

function fillForm() {
  for (const sd of ['a', 'b']) {
    const sel = $(`${sd}-model`);
    fillModels(sel, modelIds, state[`${sd}_model`]);
    $(`${sd}-temperature`).value = String(state[`${sd}_temp`]);
    $(`${sd}-mask`).value = state[`${sd}_mask`] === 'none' ? 'none' : 'causal';
  }
  $('text').value = state.text;
  syncMaskPickers();
}

function syncMaskPickers() {
  for (const s of ['a', 'b']) {
    const encdec = archOf[$(`${s}-model`).value] === 'encoder_decoder';
    $(`${s}-mask`).disabled = encdec;
    $(`${s}-mask`).title = encdec ? 'an encoder-decoder side shows its encoder self-attention, which is unmasked' : '';
  }
}

// ---- data -------------------------------------------------------------------------------------------------
async function attentionOf(side, layer) {
  const model = state[`${side}_model`];
  if (archOf[model] === 'encoder_decoder') {
    const name = `encoder.${layer}.attn.hook_pattern`;
    const r = await postJSON('/api/v1/trace', { model, text: state.text, names: [name], precision: 6 });
    return { tokens: r.tokens, patterns: r.activations[name].data, allowed: null, name, what: `${name} (encoder, no mask)` };
  }
  const mask = state[`${side}_mask`];
  const r = await postJSON('/api/v1/masked-attention', { model, text: state.text, mask, layer });
  return { tokens: r.tokens, patterns: r.pattern, allowed: r.allowed, name: `${r.layer_name}.hook_pattern`, what: `${r.layer_name}.hook_pattern, mask ${mask}` };
}

async function loadSide(side) {
  const model = state[`${side}_model`];
  const temperature = state[`${side}_temp`];
  const [detail, next, headScores] = await Promise.all([
    detailOf(model),
    postJSON('/api/v1/next-token', { model, text: state.text, temperature, n_candidates: 10 }),
    headsOf(model),
  ]);
  return { model, detail, next, heads: headScores };
}

// ---- training charts ---------------------------------------------------------------------------------------
function sideName(side) {
  const s = sides[side];
  const t = state[`${side}_temp`];
  return `${side.toUpperCase()}: ${s.model}${t !== 1 ? `, T=${t}` : ''}${state[`${side}_mask`] === 'none' ? ', no mask' : ''}`;
}

function lineLayout(words, yTitle, yRange) {
  return {
    title: title(words),
    margin: { l: 60, r: 10, t: 40, b: 50 },
    height: 340,
    xaxis: { title: { text: 'training step' }, zeroline: false },
    yaxis: { title: { text: plotlyText(yTitle) }, range: yRange, zeroline: false },
    legend: { orientation: 'h', y: -0.22 },
    paper_bgcolor: '#fff',
    plot_bgcolor: '#fff',
    font: { family: 'system-ui, sans-serif', size: 11 },
  };
}

function drawLoss() {
  const traces = ['a', 'b'].map((side) => {
    const losses = sides[side].detail.training.losses || [];
    return { type: 'scatter', mode: 'lines', name: plotlyText(sideName(side)), x: losses.map((p) => p[0]),
      y: losses.map((p) => p[1]), line: { color: COLOURS[side], width: 2, dash: side === 'b' ? 'dash' : 'solid' } };
  });
  return draw($('plot-loss'), traces, lineLayout('Training loss', 'loss (nats)'), { filename: 'compare-loss' });
}

// Scores in [0, 1] (agreement, pronoun, exact_match): the keys of the metrics curve, else of the final metrics
// minus the held-out set size n_test.
function metricNames(detail) {
  const curve = detail.training.metrics_curve || [];
  const names = new Set();
  for (const [, m] of curve) Object.keys(m).forEach((k) => names.add(k));
  if (!names.size) Object.keys(detail.metrics || {}).filter((k) => k !== 'n_test').forEach((k) => names.add(k));
  return [...names].sort();
}

// First step of the metrics curve with metric >= threshold; 'never' if it never gets there; null if the model
// does not measure that metric at all.
export function firstReaching(curve, metric, threshold = THRESHOLD) {
  let measured = false;
  for (const [step, m] of curve || []) {
    if (m[metric] === undefined) continue;
    measured = true;
    if (m[metric] >= threshold) return step;
  }
  return measured ? 'never' : null;
}

function drawMetrics() {
  const traces = [];
  for (const side of ['a', 'b']) {
    const curve = sides[side].detail.training.metrics_curve || [];
    metricNames(sides[side].detail).forEach((metric, i) => {
      traces.push({ type: 'scatter', mode: 'lines+markers', marker: { size: 4 },
        name: plotlyText(`${sideName(side)} · ${metric}`), x: curve.map((p) => p[0]), y: curve.map((p) => p[1][metric] ?? null),
        line: { color: COLOURS[side], width: 2, dash: DASHES[i % DASHES.length] } });
    });
  }
  const every = [sides.a, sides.b].map((s) => s.detail.training.eval_every).filter((x) => x);
  $('eval-every').textContent = every.length ? [...new Set(every)].join(' / ') : '?';
  return draw($('plot-metrics'), traces, lineLayout('Held-out metrics during training', 'score (0–1)', [0, 1.02]),
    { filename: 'compare-metrics' });
}

function drawMetricsTable() {
  const table = $('metrics-table');
  table.replaceChildren();
  const head = document.createElement('tr');
  cell(head, '', 'th');
  cell(head, sideName('a'), 'th');
  cell(head, sideName('b'), 'th');
  cell(head, 'A − B', 'th');
  table.appendChild(head);
  const row = (label, key, va, vb, diff = true) => {
    const tr = document.createElement('tr');
    tr.dataset.metric = key;
    cell(tr, label, 'th');
    for (const [side, v] of [['a', va], ['b', vb]]) {
      const c = cell(tr, typeof v === 'number' ? fmt(v) : (v ?? '—'));
      c.dataset.side = side;
      c.dataset.value = v === null || v === undefined ? '' : String(v);
    }
    cell(tr, diff && typeof va === 'number' && typeof vb === 'number' ? fmt(va - vb) : '');
    table.appendChild(tr);
  };
  const [da, db] = [sides.a.detail, sides.b.detail];
  const lastLoss = (d) => { const l = d.training.losses || []; return l.length ? l[l.length - 1][1] : null; };
  row('final training loss', 'final_loss', lastLoss(da), lastLoss(db));
  const names = [...new Set([...metricNames(da), ...metricNames(db)])];
  for (const m of names) {
    row(`held-out ${m}`, m, da.metrics ? da.metrics[m] ?? null : null, db.metrics ? db.metrics[m] ?? null : null);
  }
  for (const m of names) {
    row(`first step with ${m} ≥ ${THRESHOLD}`, `first_${m}`, firstReaching(da.training.metrics_curve, m),
      firstReaching(db.training.metrics_curve, m), false);
  }
  row('held-out sentences', 'n_test', da.metrics ? da.metrics.n_test ?? null : null,
    db.metrics ? db.metrics.n_test ?? null : null, false);
  row('parameters', 'n_params', da.n_params, db.n_params);
  row('training steps', 'steps', da.training.steps ?? null, db.training.steps ?? null, false);
}

// ---- next word ----------------------------------------------------------------------------------------------
function drawNext(side) {
  const { next } = sides[side];
  $(`next-${side}-title`).textContent = `${sideName(side)} · entropy ${fmt(next.entropy)} nats`;
  const table = $(`next-${side}-table`);
  table.replaceChildren();
  const h = document.createElement('tr');
  ['word', 'probability', 'logit'].forEach((t) => cell(h, t, 'th'));
  table.appendChild(h);
  for (const c of next.candidates) {
    const tr = document.createElement('tr');
    tr.dataset.id = String(c.id);
    tr.dataset.prob = String(c.prob);
    cell(tr, '').append(tokenNode(c.token));
    cell(tr, fmt(c.prob));
    cell(tr, fmt(c.logit));
    table.appendChild(tr);
  }
  return bars($(`plot-next-${side}`), { x: next.candidates.map((c) => tokenPlotly(c.token)), xHtml: true, y: next.candidates.map((c) => c.prob),
    title: next.target_tokens ? `After “${tokensText(next.target_tokens)}”, translating “${tokensText(next.tokens)}”`
      : `After “${tokensText(next.tokens)}”`, hook: `hook_probs at T = ${state[`${side}_temp`]}`, yTitle: 'probability (0 to 1)',
    yRange: [0, 1], colors: COLOURS[side], height: 300, filename: `compare-next-${side}` });
}

// ---- attention ----------------------------------------------------------------------------------------------
function fillPickers() {
  const cfgs = [sides.a.detail.config, sides.b.detail.config];
  const nLayers = Math.min(...cfgs.map((c) => c.n_layers));
  const nHeads = Math.min(...cfgs.map((c) => c.n_heads));
  page.clamp('layer', 0, nLayers - 1, 'layer');
  page.clamp('head', 0, nHeads - 1, 'head');
  const layer = $('layer');
  layer.replaceChildren();
  for (let l = 0; l < nLayers; l += 1) option(layer, l, String(l));
  layer.value = String(state.layer);
  const head = $('head');
  head.replaceChildren();
  for (let h = 0; h < nHeads; h += 1) option(head, h, String(h));
  head.value = String(state.head);
}

function headLabel(side) {
  const s = sides[side];
  const kind = archOf[s.model] === 'encoder_decoder' ? 'encoder' : 'blocks';
  const entry = s.heads.heads.find((h) => h.name === `${kind}.${state.layer}.attn` && h.head === state.head);
  if (!entry) return '';
  const best = Object.entries(entry.scores).sort((x, y) => y[1] - x[1]).slice(0, 3)
    .map(([b, v]) => `${b} ${NUM.format(v)}`).join(', ');
  return `head labels (a label needs a score ≥ ${s.heads.threshold}): ${entry.labels.length ? entry.labels.join(', ') : '(none)'} — top scores: ${best}`;
}

export function difference(pa, pb) {
  return pa.map((row, i) => row.map((v, j) => (v === null || pb[i][j] === null ? null : v - pb[i][j])));
}

function sameTokens(ta, tb) { return ta.length === tb.length && ta.every((t, i) => t === tb[i]); }

function drawAttention() {
  const draws = [];
  for (const side of ['a', 'b']) {
    const att = sides[side].attention;
    // masked cells (weight exactly 0, score −∞) are drawn grey, as on the attention page
    const z = att.patterns[state.head].map((row, i) => row.map((v, j) => (att.allowed && !att.allowed[i][j] ? null : v)));
    draws.push(heatmap($(`plot-attn-${side}`), { z, x: att.tokens, y: att.tokens, xTokens: true, yTokens: true, zmin: 0, zmax: 1,
      xTitle: 'key', yTitle: 'query', title: `${sideName(side)} · layer ${state.layer} head ${state.head}`, hook: att.name,
      colorbar: ['attention weight', '0 to 1'], height: 380, filename: `compare-attention-${side}` }));
    $(`labels-${side}`).textContent = `${att.what}. ${headLabel(side)}`;
  }
  const [a, b] = [sides.a.attention, sides.b.attention];
  const pa = a.patterns[state.head];
  const pb = b.patterns[state.head];
  const plot = $('plot-diff');
  let why = '';
  if (!sameTokens(a.tokens, b.tokens)) {
    why = `No difference map: the two sides read different tokens (A: ${tokensText(a.tokens)} | B: ${tokensText(b.tokens)}), so cell (i, j) is not the same query and key on both sides.`;
  } else if (pa.length !== pb.length || pa[0].length !== pb[0].length) {
    why = `No difference map: the patterns have different shapes (${pa.length}×${pa[0].length} vs ${pb.length}×${pb[0].length}).`;
  }
  plot.dataset.shown = why ? 'false' : 'true';
  plot.hidden = Boolean(why);
  if (why) {
    purge(plot);
    $('diff-note').textContent = why;
    return Promise.all(draws);
  }
  const d = difference(pa, pb); // raw weights: a masked cell's weight is exactly 0, so A − B stays meaningful
  let m = 0;
  for (const row of d) for (const v of row) if (v !== null) m = Math.max(m, Math.abs(v));
  $('diff-note').textContent = m === 0
    ? 'The two patterns are identical (every difference is 0).'
    : `Largest |A − B| = ${NUM.format(m)}. Orange: A attends more; purple: B attends more; white: equal. The colour range is ±${NUM.format(m)}.`;
  const range = m || 1;
  draws.push(heatmap(plot, { z: d, x: a.tokens, y: a.tokens, xTokens: true, yTokens: true, zmin: -range, zmax: range, colorscale: DIVERGING,
    xTitle: 'key', yTitle: 'query', title: `A − B · layer ${state.layer} head ${state.head}`, hook: 'hook_pattern (A) − hook_pattern (B)',
    colorbar: ['A − B', 'attention weight'], height: 380, filename: 'compare-attention-difference' }));
  return Promise.all(draws);
}

async function loadAttention() {
  const [aa, ab] = await Promise.all([attentionOf('a', state.layer), attentionOf('b', state.layer)]);
  sides.a.attention = aa;
  sides.b.attention = ab;
}

// ---- flow ---------------------------------------------------------------------------------------------------
// Results that no longer match the form are marked stale (dimmed, with a note) until Compare is pressed again; a
// changed model or mask menu re-runs at once.
function markStale(stale) {
  $('results').classList.toggle('stale', stale);
  $('stale-note').hidden = !stale;
}

async function run(pg, isLatest) {
  readForm();
  const [a, b] = await Promise.all([loadSide('a'), loadSide('b')]);
  if (!isLatest()) return;
  sides = { a, b };
  fillPickers();
  await loadAttention();
  if (!isLatest()) return;
  markStale(false);
  await Promise.all([drawLoss(), drawMetrics(), drawNext('a'), drawNext('b'), drawAttention()]);
  drawMetricsTable();
  showUnknown(sides.a.next.tokens);  // both sides read the same text (side A's vocabulary)
  setStatus('');
}

function changeView(reloadLayer) {
  state.layer = Number($('layer').value);
  state.head = Number($('head').value);
  page.save();
  if (!sides.a || !sides.b) return undefined;
  return runPage(async () => {
    if (reloadLayer) await loadAttention();
    await drawAttention();
  }, '');
}

page = startPage({ params: PARAMS, fields: {}, examples: null, run, busy: 'computing…' });
state = page.state;
if (!page.fromUrl.has('text')) state.text = exampleFor(state.a_model);
fillForm();
for (const sd of ['a', 'b']) {
  $(`${sd}-model`).addEventListener('change', () => {
    syncMaskPickers();
    // the example sentence follows side A's model (a translator reads English source sentences)
    const t = $('text').value;
    if (sd === 'a' && (!t.trim() || Object.values(EXAMPLES).some((e) => e.text === t))) $('text').value = exampleFor($('a-model').value);
    page.run();
  });
  $(`${sd}-mask`).addEventListener('change', () => page.run());
  $(`${sd}-temperature`).addEventListener('input', () => markStale(Boolean(sides.a)));
}
$('text').addEventListener('input', () => markStale(Boolean(sides.a)));
$('layer').addEventListener('change', () => changeView(true));
$('head').addEventListener('change', () => changeView(false));
page.run();
