// Page state <-> URL query string, so a copied link reproduces the view.
// readState(defaults, numeric): values parsed to the type of each default (number, boolean, string); keys in
// `numeric` are numbers even when their default is null ("off"/empty -> null). writeState(state, defaults): replaces the query (no history entry per slider
// move), leaving out values equal to their default so links stay short.

export function readState(defaults, numeric = []) {
  const q = new URLSearchParams(window.location.search);
  const out = { ...defaults };
  for (const [k, def] of Object.entries(defaults)) {
    if (!q.has(k)) continue;
    const raw = q.get(k);
    if (typeof def === 'number' || numeric.includes(k)) {
      if (raw === '' || raw === 'off') { out[k] = null; continue; }
      const v = Number(raw);
      if (Number.isFinite(v)) out[k] = v;
    } else if (typeof def === 'boolean') {
      out[k] = raw === '1' || raw === 'true';
    } else {
      out[k] = raw;
    }
  }
  return out;
}

export function writeState(state, defaults = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(state)) {
    if (v === undefined || v === defaults[k]) continue;
    if (v === null) { if (defaults[k] !== undefined && defaults[k] !== null) q.set(k, 'off'); continue; }
    q.set(k, typeof v === 'boolean' ? (v ? '1' : '0') : String(v));
  }
  const s = q.toString();
  const url = `${window.location.pathname}${s ? `?${s}` : ''}`;
  if (url !== `${window.location.pathname}${window.location.search}`) window.history.replaceState(null, '', url);
}

/** The models embedded by base.html: {models: [{id, arch, description}], default}. */
export function embeddedModels() {
  const el = document.getElementById('xray-models');
  return el ? JSON.parse(el.textContent) : { models: [], default: null };
}
