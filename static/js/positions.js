// /components/positions: the model's own position table and position-similarity matrix
// (GET /models/{id}/positions), and the shuffle check (POST /api/v1/shuffle) on the models that are loaded.
import { getJSON, postJSON } from './api.js';
import { heatmap } from './heatmap.js';
import { el } from './dom.js';
import { $, boot, bootPage, runPage } from './page.js';
import { unkText } from './unk.js';

function run() {
  return runPage(async () => {
    const id = $('model').value;
    const out = await getJSON(`/api/v1/models/${encodeURIComponent(id)}/positions?n=${Number($('n-pos').value) || 32}`);
    const pos = out.table.map((_, i) => i);
    if (out.kind === 'none') {
      $('status').textContent = `${id} adds no position vectors (pos_embed = none): the table is all zeros, so it sees a bag of words.`;
    } else {
      $('status').textContent = `${id}: ${out.kind} positions, ${out.table.length} × ${out.table[0].length}`;
    }
    heatmap($('plot-table'), { z: out.table, x: out.table[0].map((_, i) => i), y: pos, title: `${out.kind} W_pos`, xTitle: 'd_model', yTitle: 'position' });
    heatmap($('plot-sim'), { z: out.similarity, x: pos, y: pos, title: 'cos(W_pos[i], W_pos[j])', xTitle: 'position', yTitle: 'position', zmin: -1, zmax: 1 });
  }, 'Loading…');
}

function cands(list) {
  const out = [];
  list.slice(0, 3).forEach((c, i) => out.push(...(i ? [', '] : []), el('span', { className: 'mono', textContent: c.token }), ` ${c.prob.toFixed(3)}`));
  return out;
}

async function shuffle() {
  const box = $('shuffle-result');
  box.replaceChildren(el('p', { className: 'status', textContent: 'Running…' }));
  const decoders = boot.models.filter((m) => m.arch === 'decoder');
  const runs = [];
  for (const m of decoders) {
    runs.push({ model: m.id, mask: null });
    runs.push({ model: m.id, mask: 'none' });
  }
  try {
    const text = $('shuffle-text').value;
    const seed = Number($('shuffle-seed').value) || 0;
    const results = await Promise.all(runs.map((r) => postJSON('/api/v1/shuffle', { model: r.model, text, seed, mask: r.mask })));
    const first = results[0];
    const words = el('p', {}, ['Original: ', el('span', { className: 'mono', id: 'shuffle-original', textContent: first.tokens.join(' ') }), el('br'),
      'Shuffled: ', el('span', { className: 'mono', id: 'shuffle-shuffled', textContent: first.shuffled_tokens.join(' ') })]);
    const head = el('tr', {}, ['model', 'positions', 'mask', 'next word (original)', 'next word (shuffled)', 'largest probability change', 'verdict']
      .map((t) => el('th', { textContent: t })));
    const rows = results.map((r, i) => {
      const same = r.max_abs_diff < 1e-5;
      return el('tr', { dataset: { model: r.model, mask: r.mask } }, [
        el('td', { className: 'mono', textContent: r.model }), el('td', { textContent: r.pos_embed }),
        el('td', { textContent: `${r.mask}${runs[i].mask ? ' (removed for this test)' : ' (its own)'}` }),
        el('td', {}, cands(r.top)), el('td', {}, cands(r.top_shuffled)),
        el('td', { className: 'mono diff', textContent: r.max_abs_diff.toExponential(2) }),
        el('td', {}, same ? [el('strong', { textContent: 'identical' }), ': order is invisible'] : ['changes: order matters'])]);
    });
    const unk = unkText(first.tokens);
    box.replaceChildren(words, ...(unk ? [el('p', { className: 'unk-note', textContent: unk })] : []), el('table', { className: 'shuffle-table' }, [head, ...rows]), el('p', { className: 'muted',
      textContent: 'Without position vectors and without a mask, attention sums over a set: every order gives the same numbers (up to float rounding). A causal mask alone already leaks order, since each position sees a different prefix.' }));
  } catch (e) {
    box.replaceChildren();
    $('error').textContent = e.message;
  }
}

bootPage({ run, text: false });
$('shuffle-form').addEventListener('submit', (e) => { e.preventDefault(); shuffle(); });
run();
shuffle();
