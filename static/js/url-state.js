// The one URL-state helper: every page declares its state as typed parameters, reads them from the query string
// (checked: a value that cannot be used is replaced by the default and a note says so) and writes them back with
// history.replaceState, so a copied link reopens the same view.
//
//   const spec = { model: param.model(), text: param.text('the cat'), layer: param.int(0, { min: 0 }) };
//   const { values, notes, fromUrl } = readState(spec);   // values typed, notes: sentences for the page
//   writeState(spec, values)                              // -> {dropped: [keys left out because too long]}
//
// Links stay short and always openable: values equal to their default are left out, and texts are left out when
// the query would pass MAX_QUERY bytes (a text the API accepts, 2,000 characters, can take 18 KB once
// percent-encoded, and uvicorn/h11 can answer a request head over 16 KiB with a bare "400 Invalid HTTP request",
// see docs/limits.md). The page says when a text was left out of its link.

export const MAX_QUERY = 6000;  // bytes of the encoded query a page writes
const embedded = (() => {
  const el = document.getElementById('xray-models');
  return el ? JSON.parse(el.textContent) : { models: [], default: null, limits: {} };
})();

/** The models embedded by base.html: {models: [{id, arch, description}], default, limits: {text_chars}}. */
export function embeddedModels() { return embedded; }
export const TEXT_CHARS = (embedded.limits && embedded.limits.text_chars) || 2000;

const fmtInt = new Intl.NumberFormat('en');
const quote = (s) => `“${String(s).length > 40 ? `${String(s).slice(0, 40)}…` : s}”`;

export const param = {
  /** A loaded model's id; default: the app's default model. */
  model: (def = null) => ({ kind: 'model', def }),
  /** Free text (the model's input): at most TEXT_CHARS characters; left out of long links. */
  text: (def = '') => ({ kind: 'text', def }),
  /** A string, optionally one of `choices`. */
  str: (def = '', { choices = null, max = 200 } = {}) => ({ kind: 'str', def, choices, max }),
  /** An integer in [min, max]; `nullable`: '' / 'off' mean null. */
  int: (def = 0, { min = -Infinity, max = Infinity, nullable = false } = {}) => ({ kind: 'int', def, min, max, nullable }),
  /** A finite number in [min, max]. */
  num: (def = 0, { min = -Infinity, max = Infinity, nullable = false } = {}) => ({ kind: 'num', def, min, max, nullable }),
  bool: (def = false) => ({ kind: 'bool', def }),
};

function defaultOf(p) {
  if (p.kind === 'model') return p.def || embedded.default || (embedded.models[0] && embedded.models[0].id) || '';
  return p.def;
}

/** The defaults of a spec, as values. */
export function defaults(spec) {
  return Object.fromEntries(Object.entries(spec).map(([k, p]) => [k, defaultOf(p)]));
}

function parse(key, p, raw, notes) {
  const def = defaultOf(p);
  const bad = (why) => { notes.push(`The link's ${key} ${quote(raw)} ${why}; using ${def === null || def === '' ? 'the default' : quote(def)} instead.`); return def; };
  switch (p.kind) {
    case 'model': {
      if (embedded.models.some((m) => m.id === raw)) return raw;
      const ids = embedded.models.map((m) => m.id);
      notes.push(`The model ${quote(raw)} is not loaded here (loaded: ${ids.join(', ')}); showing ${def} instead.`);
      return def;
    }
    case 'text':
      if (raw.length > TEXT_CHARS) {
        notes.push(`The link's ${key} is ${fmtInt.format(raw.length)} characters long; the models read at most `
          + `${fmtInt.format(TEXT_CHARS)}, so the example is shown instead.`);
        return def;
      }
      return raw;
    case 'str':
      if (raw.length > p.max) return bad(`is too long (${fmtInt.format(raw.length)} characters)`);
      if (p.choices && !p.choices.includes(raw)) return bad(`is not one of ${p.choices.join(', ')}`);
      return raw;
    case 'int':
    case 'num': {
      if (p.nullable && (raw === '' || raw === 'off')) return null;
      const v = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(v)) return bad('is not a number');
      if (p.kind === 'int' && !Number.isInteger(v)) return bad('is not a whole number');
      if (v < p.min || v > p.max) {
        const range = p.max === Infinity ? `at least ${p.min}` : p.min === -Infinity ? `at most ${p.max}` : `${p.min} to ${p.max}`;
        return bad(`is out of range (${range})`);
      }
      return v;
    }
    case 'bool':
      return raw === '1' || raw === 'true';
    default:
      return raw;
  }
}

/** Read the spec's parameters from the current URL: {values, notes, fromUrl: Set of keys given in the URL}. */
export function readState(spec, search = window.location.search) {
  const q = new URLSearchParams(search);
  const values = defaults(spec);
  const notes = [];
  const fromUrl = new Set();
  for (const [key, p] of Object.entries(spec)) {
    if (!q.has(key)) continue;
    const v = parse(key, p, q.get(key), notes);
    values[key] = v;
    if (v !== defaultOf(p)) fromUrl.add(key);
  }
  return { values, notes, fromUrl };
}

function encodeValue(p, v) {
  if (v === null) return 'off';
  if (typeof v === 'boolean') return v ? '1' : '0';
  return String(v);
}

/** Build the query for `values` (defaults left out; texts dropped, longest first, past MAX_QUERY bytes). */
export function queryFor(spec, values) {
  const entries = [];
  for (const [key, p] of Object.entries(spec)) {
    const v = values[key];
    if (v === undefined || v === defaultOf(p)) continue;
    if (v === null && (defaultOf(p) === null || defaultOf(p) === undefined)) continue;
    entries.push([key, encodeValue(p, v), p.kind]);
  }
  const dropped = [];
  const build = () => new URLSearchParams(entries.map(([k, v]) => [k, v])).toString();
  let s = build();
  while (s.length > MAX_QUERY) {
    const texts = entries.filter((e) => e[2] === 'text' || e[2] === 'str');
    if (!texts.length) break;
    const longest = texts.reduce((a, b) => (a[1].length >= b[1].length ? a : b));
    entries.splice(entries.indexOf(longest), 1);
    dropped.push(longest[0]);
    s = build();
  }
  return { query: s, dropped };
}

/** Replace the URL's query by the state's (no history entry per change). Returns {dropped}. */
export function writeState(spec, values) {
  const { query, dropped } = queryFor(spec, values);
  const url = `${window.location.pathname}${query ? `?${query}` : ''}`;
  if (url !== `${window.location.pathname}${window.location.search}`) window.history.replaceState(null, '', url);
  return { dropped };
}
