// /components/positions: the model's own position table and position-similarity matrix
// (GET /models/{id}/positions), and the shuffle check (POST /api/v1/shuffle) on the models that are loaded.
import { getJSON, postJSON } from './api.js';
import { heatmap } from './heatmap.js';

const $ = (id) => document.getElementById(id);
const boot = JSON.parse($('xray-models').textContent);

async function run() {
  $('error').textContent = '';
  $('status').textContent = 'Loading…';
  try {
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
    document.body.dataset.ready = 'true';
  } catch (e) {
    $('status').textContent = '';
    $('error').textContent = e.message;
  }
}

function cands(list) { return list.slice(0, 3).map((c) => `<span class="mono">${escapeHtml(c.token)}</span> ${c.prob.toFixed(3)}`).join(', '); }
function escapeHtml(s) { return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[c])); }

async function shuffle() {
  const box = $('shuffle-result');
  box.innerHTML = '<p class="status">Running…</p>';
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
    let html = `<p>Original: <span class="mono">${escapeHtml(first.tokens.join(' '))}</span><br>Shuffled: <span class="mono">${escapeHtml(first.shuffled_tokens.join(' '))}</span></p>`;
    html += '<table class="shuffle-table"><tr><th>model</th><th>positions</th><th>mask</th><th>next word (original)</th><th>next word (shuffled)</th><th>largest probability change</th><th>verdict</th></tr>';
    results.forEach((r, i) => {
      const same = r.max_abs_diff < 1e-5;
      html += `<tr data-model="${r.model}" data-mask="${r.mask}"><td class="mono">${r.model}</td><td>${r.pos_embed}</td><td>${r.mask}${runs[i].mask ? ' (removed for this test)' : ' (its own)'}</td>
        <td>${cands(r.top)}</td><td>${cands(r.top_shuffled)}</td><td class="mono diff">${r.max_abs_diff.toExponential(2)}</td>
        <td>${same ? '<strong>identical</strong>: order is invisible' : 'changes: order matters'}</td></tr>`;
    });
    html += '</table><p class="muted">Without position vectors and without a mask, attention sums over a set: every order gives the same numbers (up to float rounding). A causal mask alone already leaks order, since each position sees a different prefix.</p>';
    box.innerHTML = html;
  } catch (e) {
    box.innerHTML = '';
    $('error').textContent = e.message;
  }
}

function init() {
  const params = new URLSearchParams(location.search);
  $('model').innerHTML = boot.models.map((m) => `<option>${m.id}</option>`).join('');
  $('model').value = params.get('model') || boot.default;
  $('page-form').addEventListener('submit', (e) => { e.preventDefault(); run(); });
  $('model').addEventListener('change', run);
  $('shuffle-form').addEventListener('submit', (e) => { e.preventDefault(); shuffle(); });
  run();
  shuffle();
}
init();
