// /logit-lens: each residual state put through the final norm and the unembedding as if it were the last
// (POST /api/v1/logit-lens). Rows: tokens; columns: depth; cell: top word and its probability.
import { postJSON } from './api.js';
import { el } from './dom.js';
import { $, bootPage, isEncDec, runPage } from './page.js';
import { markUnk, showUnknown } from './unk.js';

function label(point) {
  const m = point.match(/\.(\d+)\.hook_resid_(pre|post)$/);
  return m[2] === 'pre' ? 'embedding + position' : `after block ${m[1]}`;
}

function run() {
  return runPage(async () => {
    const id = $('model').value;
    $('target-label').hidden = !isEncDec(id);
    const body = { model: id, text: $('text').value, k: 3 };
    if (isEncDec(id)) body.target = $('target').value;
    const out = await postJSON('/api/v1/logit-lens', body);
    const head = el('tr', {}, [el('th', { textContent: 'token' }), ...out.rows.map((r) => el('th', { title: r.point },
      [label(r.point), el('br'), el('span', { className: 'mono muted', textContent: r.point })]))]);
    const rows = out.tokens.map((t, i) => el('tr', {}, [markUnk(el('th', { className: 'mono', textContent: `${i}: ${t}` }), t),
      ...out.rows.map((r, j) => {
        const best = r.top[i][0];
        const alpha = (0.08 + 0.75 * best.prob).toFixed(2);
        return el('td', { title: r.top[i].map((c) => `${c.token} ${c.prob.toFixed(3)}`).join('\n'), dataset: { row: i, col: j },
          style: `background: rgba(0,114,178,${alpha}); color: ${best.prob > 0.55 ? '#fff' : 'inherit'}` },
        [el('span', { className: 'mono word', textContent: best.token }), ' ', el('span', { className: 'prob', textContent: best.prob.toFixed(2) })]);
      })]));
    $('lens-table').replaceChildren(el('thead', {}, [head]), el('tbody', {}, rows));
    showUnknown(isEncDec(id) ? [] : out.tokens, isEncDec(id) ? out.tokens : undefined);  // rows: the decoder's tokens
    $('status').textContent = `${id}${isEncDec(id) ? ' (decoder side)' : ''}: each cell is the most likely next word after that token, read from that depth. Hover for the top 3.`;
  });
}

bootPage({ run });
run();
