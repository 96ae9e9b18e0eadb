// JSON API client. Every call returns the parsed body or throws an Error whose message is the API's
// error.message (the API answers bad input with a 4xx and {"error": {"code", "message"}}).

async function handle(res) {
  let body = null;
  const text = await res.text();
  if (text) {
    try { body = JSON.parse(text); } catch { body = null; }
  }
  if (!res.ok) {
    const err = body && body.error;
    const e = new Error(err && err.message ? err.message : `HTTP ${res.status} ${res.statusText}`.trim());
    e.status = res.status;
    e.code = err && err.code ? err.code : `http_${res.status}`;
    throw e;
  }
  if (body === null) throw new Error(`empty or non-JSON response from ${res.url}`);
  return body;
}

export async function getJSON(url) {
  return handle(await fetch(url, { headers: { Accept: 'application/json' } }));
}

export async function postJSON(url, body) {
  return handle(await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    body: JSON.stringify(body),
  }));
}

const modelDetails = new Map(); // model id -> promise of GET /api/v1/models/{id} (fixed while the page lives)

/** The model's detail (config, vocabulary, activation names, training record, head labels), fetched once per
 *  page; a failed fetch is not kept, so the next call tries again. */
export function modelInfo(id) {
  if (!modelDetails.has(id)) {
    const p = getJSON(`/api/v1/models/${encodeURIComponent(id)}`);
    p.catch(() => modelDetails.delete(id));
    modelDetails.set(id, p);
  }
  return modelDetails.get(id);
}
