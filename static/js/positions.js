// /components/positions: the model's own position table and position-similarity matrix
// (GET /models/{id}/positions), and the shuffle check (POST /api/v1/shuffle) on the loaded decoder models.
import { getJSON, modelInfo, postJSON } from './api.js';
import { el } from './dom.js';
import { heatmap } from './heatmap.js';
import { $, boot, startPage } from './page.js';
import { tokenNode, tokensText } from './tokens.js';
import { unkText } from './unk.js';
import { param } from './url-state.js';

// Verdict thresholds on the largest change of any next-word probability (0 to 1) when the words are shuffled:
// below IDENTICAL it is float rounding (float32 sums in another order differ by ~1e-7); below SMALL the prediction
// barely moves (under one percentage point); from SMALL on, order changes the prediction.
const IDENTICAL = 1e-5;
const SMALL = 0.01;
const ID_TEXT = IDENTICAL.toExponential(0);  // "1e-5"

function verdict(diff) {
  if (diff < IDENTICAL) return [el('strong', { textContent: 'identical' }), `: order is invisible (change < ${ID_TEXT})`];
  if (diff < SMALL) return ['barely changes', ` (< ${SMALL}): order hardly matters here`];
  return [el('strong', { textContent: 'changes' }), ` (≥ ${SMALL}): order matters`];
}

function cands(list) {
  const out = [];
  list.slice(0, 3).forEach((c, i) => out.push(...(i ? [', '] : []), tokenNode(c.token, { className: 'mono' }), ` ${c.prob.toFixed(3)}`));
  return out;
}

async function shuffle(page) {
  const { stext, seed } = page.state;
  const decoders = boot.models.filter((m) => m.arch === 'decoder');
  const runs = decoders.flatMap((m) => [{ model: m.id, mask: null }, { model: m.id, mask: 'none' }]);
  const results = await Promise.all(runs.map((r) => postJSON('/api/v1/shuffle', { model: r.model, text: stext, seed, mask: r.mask })));
  const first = results[0];
  const words = el('p', {}, ['Original: ', el('span', { className: 'mono', id: 'shuffle-original', textContent: tokensText(first.tokens) }), el('br'),
    'Shuffled: ', el('span', { className: 'mono', id: 'shuffle-shuffled', textContent: tokensText(first.shuffled_tokens) })]);
  const head = el('tr', {}, ['model', 'positions', 'mask', 'next word (original)', 'next word (shuffled)', 'largest probability change', 'verdict']
    .map((t) => el('th', { textContent: t })));
  const rows = results.map((r, i) => el('tr', { dataset: { model: r.model, mask: r.mask, diff: String(r.max_abs_diff) } }, [
    el('td', { className: 'mono', textContent: r.model }), el('td', { textContent: r.pos_embed }),
    el('td', { textContent: `${r.mask}${runs[i].mask ? ' (removed for this test)' : ' (its own)'}` }),
    el('td', {}, cands(r.top)), el('td', {}, cands(r.top_shuffled)),
    el('td', { className: 'mono diff', textContent: r.max_abs_diff.toExponential(2) }),
    el('td', { className: 'verdict' }, verdict(r.max_abs_diff))]));
  const unk = unkText(first.tokens);
  $('shuffle-result').replaceChildren(words, ...(unk ? [el('p', { className: 'unk-note', textContent: unk })] : []),
    el('div', { className: 'table-wrap' }, [el('table', { className: 'shuffle-table' }, [head, ...rows])]),
    el('p', { className: 'muted', id: 'shuffle-thresholds', textContent: `Verdicts compare the largest change of any next-word probability `
      + `(0 to 1): below ${ID_TEXT} is float rounding ("identical"), below ${SMALL} (one percentage point) "barely changes", `
      + `from ${SMALL} on "changes". Without position vectors and without a mask, attention sums over a set: every order gives `
      + 'the same numbers. A causal mask alone already leaks order, since each position sees a different prefix.' }));
}

async function tableOf(model, n) {
  const info = await modelInfo(model);
  if (info.config.pos_embed === 'rotary') {  // no table to draw (the API would answer 422); the shuffle demo still runs
    return { rotary: `${model} has rotary positions: no position vector is added to its embeddings` };
  }
  return getJSON(`/api/v1/models/${encodeURIComponent(model)}/positions?n=${n}`);
}

async function run(page) {
  const { model, n } = page.state;
  const out = await tableOf(model, n);
  $('plot-table').closest('section').hidden = $('plot-sim').closest('section').hidden = Boolean(out.rotary);
  if (out.rotary) {
    $('status').textContent = `${out.rotary}. Each head's queries and keys are turned by an angle that grows with `
      + 'the position, so a query·key product depends on how far apart the two tokens are. The shuffle demo below '
      + 'still shows whether order matters.';
    await shuffle(page);
    return;
  }
  const pos = out.table.map((_, i) => i);
  $('status').textContent = out.kind === 'none'
    ? `${model} adds no position vectors (pos_embed = none): the table is all zeros, so it sees a bag of words.`
    : `${model}: ${out.kind} positions, ${out.table.length} × ${out.table[0].length}`;
  await Promise.all([
    heatmap($('plot-table'), { z: out.table, title: `The position vectors (${out.kind})`, hook: 'W_pos (hook_pos_embed)', xTitle: 'd_model',
      yTitle: 'position', colorbar: ['value', 'unitless'], symmetric: true }),
    heatmap($('plot-sim'), { z: out.similarity, x: pos, y: pos, title: 'How alike two positions’ vectors are',
      hook: 'cos(W_pos[i], W_pos[j])', xTitle: 'position', yTitle: 'position', zmin: -1, zmax: 1,
      colorbar: ['cosine similarity', '−1 to 1'] }),
    shuffle(page),
  ]);
}

const page = startPage({
  params: { model: param.model(), n: param.int(32, { min: 1, max: 512 }), stext: param.text('the boy that the dog sees runs'),
    seed: param.int(0, { min: 0, max: 2 ** 31 - 1 }) },
  fields: { n: 'n-pos', stext: 'shuffle-text', seed: 'shuffle-seed' }, examples: null, run, busy: 'Loading…',
});
$('shuffle-form').addEventListener('submit', (e) => { e.preventDefault(); page.run(); });
page.run();
