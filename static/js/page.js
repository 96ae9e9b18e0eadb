// The one page boot. A page declares its state (url-state.js parameters), which form fields show which state keys,
// and a run(page) that fetches and draws; startPage() does the rest, the same way on every page:
//  - reads the URL (an unusable value -> the default, and a note on the page saying what was replaced and why),
//  - fills the model picker and the fields, swaps in the model's own example text when the model changes,
//  - runs one thing at a time with a status line and <body data-ready>: 'false' while running, 'true' once drawn,
//    'error' (the API's message in #error) on failure; a run started from a link that fails (a text too long for
//    the model, say) is shown as a note and the page falls back to its default view,
//  - writes the state back to the URL after each run and whenever page.save() is called,
//  - marks the first picture of the page's data (chart.markFirstPicture; bench/page_timing.py reads it),
//  - starts loading plotly.js at once on pages that draw charts, in parallel with the first API request.
import { loadPlotly, markFirstPicture, whenIdle } from './chart.js';
import { setOptions } from './dom.js';
import { EXAMPLES, exampleFor } from './examples.js';
import { describeModel, fillModels } from './model-picker.js';
import { defaults, embeddedModels, readState, writeState } from './url-state.js';

export const $ = (id) => document.getElementById(id);
export const boot = embeddedModels();
/** What each `arch` is called on the pages. */
export const ARCH_LABEL = { decoder: 'decoder-only', encoder: 'encoder-only', encoder_decoder: 'encoder-decoder' };
export const archOf = (id) => (boot.models.find((m) => m.id === id) || {}).arch || 'decoder';
export const isEncDec = (id) => archOf(id) === 'encoder_decoder';

function noticeBox() {
  let box = $('notice');
  if (!box) {
    box = document.createElement('div');
    box.id = 'notice';
    box.className = 'notice';
    box.setAttribute('role', 'status');
    const anchor = $('error');
    if (anchor) anchor.before(box); else (document.querySelector('main') || document.body).append(box);
  }
  return box;
}

/** Show a sentence in the page's note box (above the error box); several notes stack. */
export function notice(text) {
  if (!text) return;
  const box = noticeBox();
  const p = document.createElement('p');
  p.textContent = text;
  box.append(p);
}

export function clearNotices() { noticeBox().replaceChildren(); }

let runId = 0;

/** Run `work(isLatest)` with the status line and data-ready (see above); resolves true on success. */
export async function runPage(work, busy = 'Running…') {
  const my = ++runId;
  const isLatest = () => my === runId;
  const status = $('status');
  if ($('error')) $('error').textContent = '';
  if (status) status.textContent = busy;
  document.body.dataset.ready = 'false';
  try {
    await work(isLatest);
    await whenIdle();  // every chart the page asked for is drawn
    if (!isLatest()) return false;
    document.body.dataset.ready = 'true';
    markFirstPicture();
    return true;
  } catch (e) {
    if (!isLatest()) return false;
    if (status) status.textContent = '';
    if ($('error')) $('error').textContent = e.message;
    document.body.dataset.ready = 'error';
    if (!(e.status >= 400 && e.status < 500) && !e.userFacing) console.error(e);  // a bug, not bad input: keep it visible
    return false;
  }
}

/** An error meant for the page's error box (bad input found by the page itself), not a bug. */
export function inputError(message) {
  const e = new Error(message);
  e.userFacing = true;
  return e;
}

/**
 * startPage({params, fields?, run, examples?, rerun?, form?, charts?, onModelChange?, busy?}) -> page
 *  params: {key: url-state param}; fields: {key: element id} (filled from the state, read back before each run;
 *  `model`, `text` and `target` default to #model, #text, #target when params has them); run(page, isLatest):
 *  async, draws from page.state; rerun: keys whose field's change re-runs at once (selects); examples: the
 *  example text/target per model family or architecture ({'english-gpt': {text, target}, decoder: {...},
 *  encoder_decoder: {...}}; examples.js's exampleFor picks one).
 */
export function startPage(spec) {
  const { params, run, examples = EXAMPLES, rerun = [], form = 'page-form', charts = true, onModelChange = () => {},
    busy = 'Running…' } = spec;
  const fields = { ...spec.fields };
  for (const k of ['model', 'text', 'target']) if (params[k] && !(k in fields) && $(k)) fields[k] = k;
  if (charts) loadPlotly().catch(() => {});  // fetch and compile in parallel with the first request
  const read = readState(params);
  const state = read.values;
  const usesExample = () => params.text && examples;
  if (usesExample()) {
    // A model's own example when the link gives no text (the text's default is the decoder example)
    const ex = exampleFor(examples, state.model, archOf(state.model));
    if (!read.fromUrl.has('text')) state.text = ex.text;
    if (params.target && !read.fromUrl.has('target')) state.target = ex.target;
  }
  noticeBox();  // always there (empty: hidden), so that a note never moves the page's layout twice
  read.notes.forEach(notice);

  const page = {
    state,
    params,
    fromUrl: read.fromUrl,
    save() {
      const { dropped } = writeState(params, state);
      const note = $('url-note');
      const text = dropped.length
        ? `The ${dropped.join(' and ')} ${dropped.length > 1 ? 'are' : 'is'} too long to keep in this page's link, `
          + 'which keeps the other settings.' : '';
      if (note) { note.textContent = text; note.hidden = !text; } else if (text) notice(text);
    },
    /** Keep `key` in [lo, hi]; a value from the link outside it is replaced (and a note says so). */
    clamp(key, lo, hi, what = key) {
      const v = state[key];
      if (v === null || v === undefined || (v >= lo && v <= hi)) return v;
      const to = v < lo ? lo : hi;
      if (page.fromUrl.has(key)) {
        notice(`The link asked for ${what} ${v}, but here ${what} goes from ${lo} to ${hi}; showing ${what} ${to}.`);
        page.fromUrl.delete(key);
      }
      state[key] = to;
      return to;
    },
    fill() {
      for (const [k, id] of Object.entries(fields)) {
        const el = $(id);
        if (!el || state[k] === undefined) continue;
        if (el.type === 'checkbox') el.checked = Boolean(state[k]);
        else el.value = state[k] === null ? '' : String(state[k]);
      }
    },
    readFields() {
      for (const [k, id] of Object.entries(fields)) {
        const el = $(id);
        if (!el || (el.tagName === 'SELECT' && !el.options.length)) continue;  // a picker not filled yet keeps the state
        const p = params[k];
        if (el.type === 'checkbox') state[k] = el.checked;
        else if (p && (p.kind === 'int' || p.kind === 'num')) {
          const v = el.value.trim() === '' ? null : Number(el.value);
          state[k] = v === null && !p.nullable ? p.def : v;
        } else state[k] = el.value;
      }
    },
    run: null,
  };

  let first = true;
  page.run = async () => {
    page.readFields();
    const ok = await runPage((isLatest) => run(page, isLatest), busy);
    if (ok) { page.save(); first = false; return; }
    if (!first || document.body.dataset.ready !== 'error') return;
    first = false;
    // A link that cannot be shown: say why, go back to the default view (the model kept when it is loaded).
    const given = [...read.fromUrl].filter((k) => k !== 'model');
    if (!given.length) return;
    const why = $('error').textContent;
    const base = defaults(params);
    for (const k of given) state[k] = base[k];
    if (usesExample()) {
      const ex = exampleFor(examples, state.model, archOf(state.model));
      state.text = ex.text;
      if (params.target) state.target = ex.target;
    }
    notice(`This link's view could not be shown (${why}); showing the default view instead.`);
    page.fill();
    await page.run();
  };

  if (fields.model) fillModels($(fields.model));
  page.fill();
  if (fields.model) describeModel($(fields.model));
  if (params.target && $('target-label')) $('target-label').hidden = !isEncDec(state.model);
  const f = $(form);
  if (f) f.addEventListener('submit', (e) => { e.preventDefault(); page.run(); });
  // Text fields are textareas (a text may hold newlines): Enter runs, as in a one-line field; Shift+Enter is a newline.
  document.querySelectorAll('textarea.text-in').forEach((t) => t.addEventListener('keydown', (e) => {
    if (e.key !== 'Enter' || e.shiftKey || e.altKey || e.ctrlKey || e.metaKey || e.isComposing) return;
    e.preventDefault();
    if (t.form) t.form.requestSubmit();
  }));
  if (fields.model) {
    $(fields.model).addEventListener('change', () => {
      const before = usesExample() && exampleFor(examples, state.model, archOf(state.model));
      state.model = $(fields.model).value;
      const now = usesExample() && exampleFor(examples, state.model, archOf(state.model));
      if (usesExample() && now !== before) {
        // swap in the new model's example, but never over text the user typed
        const all = Object.values(examples);
        for (const k of ['text', 'target']) {
          if (!params[k] || !$(fields[k])) continue;
          const el = $(fields[k]);
          if (!el.value.trim() || all.some((ex) => ex[k] === el.value)) el.value = now[k];
        }
      }
      if (params.target && $('target-label')) $('target-label').hidden = !isEncDec(state.model);
      onModelChange(page);
      page.run();
    });
  }
  for (const k of rerun) if ($(fields[k] || k)) $(fields[k] || k).addEventListener('change', () => page.run());
  return page;
}

/** Fill `select` with `values` (labels optional) and keep state[key] when it is one of them (else the first). */
export function choose(page, key, select, values, labels = values) {
  setOptions(select, values, labels);
  const v = page.state[key];
  const ok = values.some((x) => String(x) === String(v));
  if (!ok) {
    if (v !== null && v !== undefined && v !== '' && page.fromUrl.has(key)) {
      notice(`The link asked for ${key} ${v}, which this model does not have; showing ${labels[0]}.`);
      page.fromUrl.delete(key);
    }
    page.state[key] = values[0];
  }
  select.value = String(page.state[key]);
  return page.state[key];
}
