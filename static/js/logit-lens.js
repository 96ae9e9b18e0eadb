// /logit-lens: each residual state put through the final norm and the unembedding as if it were the last
// (POST /api/v1/logit-lens). Rows: tokens; columns: depth; cell: top word and its probability, shaded by it
// (the legend under the table gives the scale). No chart library: the table is the picture.
import { postJSON } from './api.js';
import { el } from './dom.js';
import { $, isEncDec, startPage } from './page.js';
import { tokenLabel, tokenNode } from './tokens.js';
import { showUnknown } from './unk.js';
import { param } from './url-state.js';

const shade = (p) => 0.08 + 0.75 * p;  // background alpha of a cell whose top word has probability p

function label(point) {
  const m = point.match(/\.(\d+)\.hook_resid_(pre|post)$/);
  if (!m) return point;
  return m[2] === 'pre' ? 'embedding + position' : `after block ${m[1]}`;
}

function legend() {
  const stops = [0, 0.25, 0.5, 0.75, 1];
  return el('div', { className: 'lens-legend', id: 'lens-legend' }, [
    el('span', { textContent: 'Cell shade = probability of the cell’s top word: ' }),
    ...stops.map((p) => el('span', { className: 'lens-swatch', textContent: p.toFixed(2),
      style: `background: rgba(0,114,178,${shade(p).toFixed(2)}); color: ${p > 0.55 ? '#fff' : 'inherit'}` })),
  ]);
}

async function run(page) {
  const { model, text, target } = page.state;
  const encDec = isEncDec(model);
  const body = { model, text, k: 3 };
  if (encDec) body.target = target;
  const out = await postJSON('/api/v1/logit-lens', body);
  const head = el('tr', {}, [el('th', { textContent: 'token' }), ...out.rows.map((r) => el('th', { title: r.point },
    [label(r.point), el('br'), el('span', { className: 'mono muted', textContent: r.point })]))]);
  const rows = out.tokens.map((t, i) => el('tr', {}, [el('th', { className: 'mono' }, [tokenNode(t, { prefix: `${i}: ` })]),
    ...out.rows.map((r, j) => {
      const best = r.top[i][0];
      return el('td', { title: r.top[i].map((c) => `${tokenLabel(c.token)} ${c.prob.toFixed(3)}`).join('\n'), dataset: { row: i, col: j },
        style: `background: rgba(0,114,178,${shade(best.prob).toFixed(2)}); color: ${best.prob > 0.55 ? '#fff' : 'inherit'}` },
      [tokenNode(best.token, { className: 'mono word' }), ' ', el('span', { className: 'prob', textContent: best.prob.toFixed(2) })]);
    })]));
  $('lens-table').replaceChildren(el('thead', {}, [head]), el('tbody', {}, rows));
  if (!$('lens-legend')) $('lens-table').closest('.lens-wrap').after(legend());
  showUnknown(encDec ? [] : out.tokens, encDec ? out.tokens : undefined);  // rows: the decoder's tokens
  $('status').textContent = `${model}${encDec ? ' (decoder side)' : ''}: each cell is the most likely next word after that token, read from that depth. Hover for the top 3.`;
}

const page = startPage({ params: { model: param.model(), text: param.text(), target: param.text() }, run, charts: false });
page.run();
