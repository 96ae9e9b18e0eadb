// Extras for the attention page: head labels (GET /api/v1/models/{id}/heads, api.headScores) and the training
// timeline (GET /api/v1/models/{id}/timeline, POST /api/v1/timeline/attention), kept by api.js's request cache.
import { getJSON, postJSON } from './api.js';

/** The entry of attention module `attn` (e.g. blocks.0.attn, decoder.1.cross_attn), head h, or undefined. */
export function headEntry(scores, attn, h) {
  return scores ? scores.heads.find((e) => e.name === attn && e.head === Number(h)) : undefined;
}

/** Short label text: the labels it earned, or '' when none reached the threshold. */
export function labelText(entry) {
  return entry && entry.labels.length ? entry.labels.join(', ') : '';
}

/** Every score of one head, highest first, as "behaviour 0.93, ...". */
export function scoresText(entry) {
  if (!entry) return '';
  return Object.entries(entry.scores).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ');
}

/** {steps, losses, loss_steps}; empty steps when the model kept no snapshots. */
export function timeline(model) {
  return getJSON(`/api/v1/models/${encodeURIComponent(model)}/timeline`);
}

/** One layer's patterns for every kept step: {tokens, steps, patterns: [step][head][q][k], layer_name}. */
export function timelinePatterns(model, text, layer) {
  return postJSON('/api/v1/timeline/attention', { model, text, layer });
}
