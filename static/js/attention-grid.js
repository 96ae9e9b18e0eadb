// The attention page's layers × heads grid. At real scale (12 layers × 12 heads + the mean: 156 maps of 128 × 128)
// a chart per map would take seconds to draw, so each small map is a <canvas> with one pixel per (query, key),
// scaled up by CSS; its matrix stays readable on the element as `canvas.data[0].z` (what a Plotly chart exposes).
// Keyboard: the grid is one Tab stop (role=grid, roving tabindex); arrow keys move between maps, Home / End go to a
// row's ends, Enter or Space opens the focused map. Rows arrive one layer at a time (fillLayer).
import { el } from './dom.js';

// Viridis (the colour scale of the page's large pattern), 17 stops from 0 to 1
const VIRIDIS = ['#440154', '#48186a', '#472d7b', '#424086', '#3b528b', '#33638d', '#2c728e', '#26828e', '#21918c',
  '#1fa088', '#28ae80', '#3fbc73', '#5ec962', '#84d44b', '#addc30', '#d8e219', '#fde725']
  .map((h) => [1, 3, 5].map((i) => parseInt(h.slice(i, i + 2), 16)));
const MASKED = [229, 229, 229];  // the grey of a masked cell in the large charts (plot_bgcolor #e5e5e5)

/** [r, g, b] of a weight in [0, 1] on Viridis; null (masked) is grey. */
export function colour(v) {
  if (v === null || v === undefined || Number.isNaN(v)) return MASKED;
  const x = Math.min(1, Math.max(0, v)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(x));
  const f = x - i;
  return VIRIDIS[i].map((c, k) => Math.round(c + f * (VIRIDIS[i + 1][k] - c)));
}

/** Draw matrix z (rows = queries, columns = keys, values 0..1, null = masked) into `canvas`. */
export function thumbnail(canvas, z) {
  const rows = z.length;
  const cols = rows ? z[0].length : 0;
  canvas.width = Math.max(1, cols);
  canvas.height = Math.max(1, rows);
  const ctx = canvas.getContext('2d');
  const img = ctx.createImageData(canvas.width, canvas.height);
  z.forEach((row, i) => row.forEach((v, j) => {
    const [r, g, b] = colour(v);
    const o = 4 * (i * cols + j);
    img.data[o] = r; img.data[o + 1] = g; img.data[o + 2] = b; img.data[o + 3] = 255;
  }));
  ctx.putImageData(img, 0, 0);
  canvas.data = [{ z }];
  canvas.dataset.drawn = 'true';
}

/** Build the empty grid: a header row (head numbers, then "mean"), one row per layer. `label(l, head)` is a
 *  cell's caption (its head label), `onOpen(l, head)` opens a map; head is a number as text or 'mean'. */
export function buildGrid(grid, { nLayers, nHeads, selected, label, onOpen }) {
  const heads = [...Array.from({ length: nHeads }, (_, h) => String(h)), 'mean'];
  grid.setAttribute('role', 'grid');
  grid.setAttribute('aria-label', `attention maps, ${nLayers} layers × ${nHeads} heads and their mean (arrow keys move, Enter opens)`);
  grid.style.setProperty('--grid-heads', String(heads.length));
  const header = el('div', { className: 'grid-row', role: 'row' }, [
    el('div', { className: 'grid-head grid-corner', role: 'columnheader', textContent: 'layer \\ head' }),
    ...heads.map((h) => el('div', { className: 'grid-head', role: 'columnheader', textContent: h })),
  ]);
  const rows = Array.from({ length: nLayers }, (_, l) => el('div', { className: 'grid-row', role: 'row' }, [
    el('div', { className: 'grid-head grid-layer', role: 'rowheader', textContent: `layer ${l}` }),
    ...heads.map((head) => {
      const cell = el('div', { className: 'grid-cell', role: 'gridcell', tabIndex: -1,
        dataset: { layer: String(l), head } }, [el('canvas', { className: 'grid-plot' }),
        el('div', { className: 'grid-label', textContent: label(l, head) })]);
      cell.setAttribute('aria-label', `layer ${l}, ${head === 'mean' ? 'mean over heads' : `head ${head}`}`);
      cell.addEventListener('click', () => onOpen(l, head));
      return cell;
    }),
  ]));
  grid.replaceChildren(header, ...rows);
  markSelected(grid, selected.layer, selected.head);
  if (!grid.__xrayKeys) {
    grid.__xrayKeys = true;
    grid.addEventListener('keydown', (e) => move(grid, e));
  }
}

/** Draw layer l's maps: `mats[i]` is the matrix of heads[i] (the heads, then the mean). */
export function fillLayer(grid, l, mats) {
  grid.querySelectorAll(`.grid-cell[data-layer="${l}"]`).forEach((cell, i) => thumbnail(cell.querySelector('canvas'), mats[i]));
}

/** Refresh the captions (head labels arrive after the first picture). */
export function relabel(grid, label) {
  grid.querySelectorAll('.grid-cell').forEach((cell) => {
    cell.querySelector('.grid-label').textContent = label(Number(cell.dataset.layer), cell.dataset.head);
  });
}

/** Outline the open map; it is the grid's one Tab stop. */
export function markSelected(grid, layer, head) {
  const focused = grid.contains(document.activeElement);  // keep the Tab stop where the keyboard is
  grid.querySelectorAll('.grid-cell').forEach((c) => {
    const on = Number(c.dataset.layer) === layer && c.dataset.head === String(head);
    c.classList.toggle('selected', on);
    c.setAttribute('aria-selected', String(on));
    if (!focused) c.tabIndex = on ? 0 : -1;
  });
}

function move(grid, e) {
  const cell = e.target.closest('.grid-cell');
  if (!cell) return;
  if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); cell.click(); return; }
  const row = [...cell.parentElement.querySelectorAll('.grid-cell')];
  const rows = [...grid.querySelectorAll('.grid-row')].slice(1);
  const r = rows.indexOf(cell.parentElement);
  const c = row.indexOf(cell);
  const at = (ri, ci) => rows[ri] && rows[ri].querySelectorAll('.grid-cell')[ci];
  const next = { ArrowLeft: at(r, c - 1), ArrowRight: at(r, c + 1), ArrowUp: at(r - 1, c), ArrowDown: at(r + 1, c),
    Home: row[0], End: row[row.length - 1] }[e.key];
  if (e.key in { ArrowLeft: 1, ArrowRight: 1, ArrowUp: 1, ArrowDown: 1, Home: 1, End: 1 }) e.preventDefault();
  if (!next) return;
  cell.tabIndex = -1;
  next.tabIndex = 0;
  next.focus();
}
