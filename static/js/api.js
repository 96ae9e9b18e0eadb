// JSON API client and the one request cache of the pages. Every call returns the parsed body or throws an Error
// whose message is the API's error.message (the API answers bad input with a 4xx and {"error": {"code", "message"}}).
//
// cached(key, make): the promise of `make()`, kept under `key` while the page lives (a failed one is dropped, so the
// next call asks again). The answers of this API are fixed for a given request (the models do not change while the
// server runs), so GET and POST answers can be kept; at most MAX_ENTRIES are, the least recently used dropped first.

const MAX_ENTRIES = 64;  // a trace answer can be a few MB: keep the last 64 requests
const cache = new Map();

export function cached(key, make) {
  if (cache.has(key)) {
    const p = cache.get(key);
    cache.delete(key);  // most recently used last
    cache.set(key, p);
    return p;
  }
  const p = make();
  cache.set(key, p);
  p.catch(() => { if (cache.get(key) === p) cache.delete(key); });
  while (cache.size > MAX_ENTRIES) cache.delete(cache.keys().next().value);
  return p;
}

async function handle(res) {
  let body = null;
  const text = await res.text();
  if (text) {
    try { body = JSON.parse(text); } catch { body = null; }
  }
  if (!res.ok) {
    const err = body && body.error;
    const e = new Error(err && err.message ? err.message : `the server answered ${res.status} ${res.statusText}`.trim());
    e.status = res.status;
    e.code = err && err.code ? err.code : `http_${res.status}`;
    throw e;
  }
  if (body === null) throw new Error(`empty or non-JSON response from ${res.url}`);
  return body;
}

async function send(url, init) {
  let res;
  try {
    res = await fetch(url, init);
  } catch (e) {
    throw new Error(`the server could not be reached (${e.message}); is it still running?`);
  }
  return handle(res);
}

/** GET url (kept in the cache unless {cache: false}). */
export function getJSON(url, { cache: keep = true } = {}) {
  const go = () => send(url, { headers: { Accept: 'application/json' } });
  return keep ? cached(`GET ${url}`, go) : go();
}

/** POST body as JSON to url (kept in the cache unless {cache: false}: /generate with a seed is deterministic too). */
export function postJSON(url, body, { cache: keep = true } = {}) {
  const json = JSON.stringify(body);
  const go = () => send(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    body: json,
  });
  return keep ? cached(`POST ${url} ${json}`, go) : go();
}

/** GET /api/v1/models/{id}: config, vocabulary, activation names, training record. */
export function modelInfo(id) { return getJSON(`/api/v1/models/${encodeURIComponent(id)}`); }

/** GET /api/v1/models/{id}/heads: {heads: [{name, layer, head, scores, labels}], threshold}. */
export function headScores(id) { return getJSON(`/api/v1/models/${encodeURIComponent(id)}/heads`); }
