// /logit-lens: each residual state put through the final norm and the unembedding as if it were the last
// (POST /api/v1/logit-lens). Rows: tokens; columns: depth; cell: top word and its probability.
import { postJSON } from './api.js';

const $ = (id) => document.getElementById(id);
const boot = JSON.parse($('xray-models').textContent);

function isEncDec(id) { return (boot.models.find((m) => m.id === id) || {}).arch === 'encoder_decoder'; }
function escapeHtml(s) { return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[c])); }
function label(point) {
  const m = point.match(/\.(\d+)\.hook_resid_(pre|post)$/);
  return m[2] === 'pre' ? 'embedding + position' : `after block ${m[1]}`;
}

async function run() {
  $('error').textContent = '';
  $('status').textContent = 'Running…';
  try {
    const id = $('model').value;
    $('target-label').hidden = !isEncDec(id);
    const body = { model: id, text: $('text').value, k: 3 };
    if (isEncDec(id)) body.target = $('target').value;
    const out = await postJSON('/api/v1/logit-lens', body);
    let html = `<thead><tr><th>token</th>${out.rows.map((r) => `<th title="${r.point}">${label(r.point)}<br><span class="mono muted">${r.point}</span></th>`).join('')}</tr></thead><tbody>`;
    out.tokens.forEach((t, i) => {
      html += `<tr><th class="mono">${i}: ${escapeHtml(t)}</th>`;
      out.rows.forEach((r, j) => {
        const [best, ...rest] = r.top[i];
        const alpha = (0.08 + 0.75 * best.prob).toFixed(2);
        const tip = r.top[i].map((c) => `${c.token} ${c.prob.toFixed(3)}`).join('\n');
        html += `<td style="background: rgba(0,114,178,${alpha}); color: ${best.prob > 0.55 ? '#fff' : 'inherit'}" title="${escapeHtml(tip)}"
          data-row="${i}" data-col="${j}"><span class="mono word">${escapeHtml(best.token)}</span> <span class="prob">${best.prob.toFixed(2)}</span></td>`;
      });
      html += '</tr>';
    });
    $('lens-table').innerHTML = `${html}</tbody>`;
    $('status').textContent = `${id}${isEncDec(id) ? ' (decoder side)' : ''}: each cell is the most likely next word after that token, read from that depth. Hover for the top 3.`;
    document.body.dataset.ready = 'true';
  } catch (e) {
    $('status').textContent = '';
    $('error').textContent = e.message;
  }
}

function init() {
  const params = new URLSearchParams(location.search);
  $('model').innerHTML = boot.models.map((m) => `<option>${m.id}</option>`).join('');
  $('model').value = params.get('model') || boot.default;
  if (params.get('text')) $('text').value = params.get('text');
  $('page-form').addEventListener('submit', (e) => { e.preventDefault(); run(); });
  $('model').addEventListener('change', run);
  run();
}
init();
