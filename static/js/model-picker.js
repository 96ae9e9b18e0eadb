// Model menus: every <select> of models shows each model's id, its description as the option's tooltip, and
// the chosen model's description in a quiet line under the menu (what it is; for a removal variant, what was
// removed), from the models embedded by base.html (url-state.js).
import { el } from './dom.js';
import { embeddedModels } from './url-state.js';

const byId = () => Object.fromEntries(embeddedModels().models.map((m) => [m.id, m]));

/** The description line under `select` (created once, after the select's label). */
function descLine(select) {
  const id = `${select.id}-desc`;
  let line = document.getElementById(id);
  if (!line) {
    line = el('span', { id, className: 'model-desc muted small' });
    line.setAttribute('aria-live', 'polite');
    (select.closest('label') || select).after(line);
    select.setAttribute('aria-describedby', id);
  }
  return line;
}

/** Show the selected model's description under the menu. */
export function describeModel(select) {
  const m = byId()[select.value];
  descLine(select).textContent = m && m.description ? m.description : '';
}

/** Fill `select` with the models `ids` (default: every loaded model), choose `selected`, keep the line current. */
export function fillModels(select, ids = embeddedModels().models.map((m) => m.id), selected = undefined) {
  const info = byId();
  select.replaceChildren(...ids.map((id) => el('option', { value: id, textContent: id, title: (info[id] || {}).description || '' })));
  if (selected !== undefined) select.value = String(selected);
  if (!select.dataset.describes) {
    select.dataset.describes = '1';
    select.addEventListener('change', () => describeModel(select));
  }
  describeModel(select);
}
