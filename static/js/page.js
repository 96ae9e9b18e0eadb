// The boot every page with a model picker shares: the embedded model list, model/text/target from the URL,
// the form and model-change wiring, and one run at a time with a status line and <body data-ready>:
// 'false' while running, 'true' once drawn, 'error' (the API's message in #error) on failure.
import { modelInfo } from './api.js';
import { setOptions } from './dom.js';
import { EXAMPLES, syncExample } from './examples.js';
import { embeddedModels } from './url-state.js';

export const $ = (id) => document.getElementById(id);
export const boot = embeddedModels();
export const archOf = (id) => (boot.models.find((m) => m.id === id) || {}).arch || 'decoder';
export const isEncDec = (id) => archOf(id) === 'encoder_decoder';

let runId = 0;

/** Run `work(isLatest)` with the status line and data-ready. `isLatest()` is false once a newer run started; a
 *  run that is no longer the latest leaves the page state (status, error, data-ready) to the newer one. */
export async function runPage(work, busy = 'Running…') {
  const my = ++runId;
  const isLatest = () => my === runId;
  const status = $('status');
  $('error').textContent = '';
  if (status) status.textContent = busy;
  document.body.dataset.ready = 'false';
  try {
    await work(isLatest);
    if (isLatest()) document.body.dataset.ready = 'true';
  } catch (e) {
    if (!isLatest()) return;
    if (status) status.textContent = '';
    $('error').textContent = e.message;
    document.body.dataset.ready = 'error';
  }
}

/** Fill #model from the embedded list (URL ?model= or the default); with `text`, read ?text= and ?target= and
 *  put in the model's example; submit of `form` and a model change call `run` (the page wires its own controls,
 *  then calls run() once). Returns the URL parameters, for the page's own ones. */
export function bootPage({ run, form = 'page-form', text = true, examples = EXAMPLES, onModelChange = () => {} }) {
  const params = new URLSearchParams(location.search);
  setOptions($('model'), boot.models.map((m) => m.id));
  $('model').value = params.get('model') || boot.default;
  if (text) {
    if (params.get('text')) $('text').value = params.get('text');
    if (params.get('target') !== null && $('target')) $('target').value = params.get('target');
    syncExample(archOf($('model').value), examples);
  }
  $(form).addEventListener('submit', (e) => { e.preventDefault(); run(); });
  $('model').addEventListener('change', () => {
    onModelChange();
    if (text) syncExample(archOf($('model').value), examples);
    run();
  });
  return params;
}

/** GET /api/v1/models/{id}, and fill `select` with the modules that have an activation `<module>.<leaf>` (the current
 *  choice kept when the model has it); `what` names them in the error for a model without any. Shows #target-label
 *  for an encoder-decoder. */
export async function loadModelWith(id, select, leaf, what) {
  const info = await modelInfo(id);
  const suffix = `.${leaf}`;
  const modules = info.activation_names.map((a) => a.name).filter((n) => n.endsWith(suffix)).map((n) => n.slice(0, -suffix.length));
  if (!modules.length) throw new Error(`${id} has no ${what} (it was trained without one)`);
  const keep = select.value;
  setOptions(select, modules);
  if (modules.includes(keep)) select.value = keep;
  $('target-label').hidden = info.arch !== 'encoder_decoder';
  return info;
}
