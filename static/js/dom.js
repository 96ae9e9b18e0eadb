// Building DOM without innerHTML: every piece of text goes in through textContent, so user text (and
// tokens such as "<pad>") always shows literally.

/** el('td', {className: 'mono', textContent: w, dataset: {row: 1}}, [child, 'text', ...]) */
export function el(tag, props = {}, children = []) {
  const e = document.createElement(tag);
  const { dataset, style, ...rest } = props;
  Object.assign(e, rest);
  if (dataset) Object.assign(e.dataset, dataset);
  if (style) e.style.cssText = style;
  for (const c of children) e.append(c);
  return e;
}

/** Replace a <select>'s options: values, with labels (default: the values); `selected`, if given, is chosen. */
export function setOptions(select, values, labels = values, selected = undefined) {
  select.replaceChildren(...values.map((v, i) => el('option', { value: String(v), textContent: String(labels[i]) })));
  if (selected !== undefined) select.value = String(selected);
}

/** setOptions from [value, label] pairs. */
export function setOptionPairs(select, pairs, selected = undefined) {
  setOptions(select, pairs.map((p) => p[0]), pairs.map((p) => p[1]), selected);
}
