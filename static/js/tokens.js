// The one way a token is shown. Tokens are exact pieces of text (" cat", "ing", "\n", a byte piece), so what is
// invisible in them must be made visible without changing what they are:
//   - a space is a quiet "·" (leading spaces mark a word start in byte-level BPE; other spaces too, so "  " is "··"),
//   - a newline "↵", a tab "→", a carriage return "⏎", any other control character "\u{…}" (its code point),
//   - everything else exactly as it is, always as text (textContent), never as markup.
// tokenParts() cuts a token into [text, quiet] pieces; tokenLabel() is the plain-text form (select options,
// aria-labels, sentences), tokenNode() the DOM form (quiet pieces in a faint span, the exact text in the title),
// tokenPlotly() the form for Plotly labels (which read a small HTML subset: text escaped, quiet pieces grey).
import { UNK, UNK_TITLE } from './unk.js';

const QUIET = { ' ': '·', '\n': '↵', '\t': '→', '\r': '⏎', '\u00a0': '⍽' };

/** [[text, quiet], ...]: runs of ordinary characters, and one quiet mark per invisible character. */
export function tokenParts(token) {
  const s = String(token ?? '');
  const parts = [];
  let run = '';
  for (const ch of s) {
    const cp = ch.codePointAt(0);
    let mark = QUIET[ch];
    if (mark === undefined && (cp < 0x20 || (cp >= 0x7f && cp < 0xa0) || cp === 0x2028 || cp === 0x2029 || cp === 0xfeff
      || (cp >= 0x200b && cp <= 0x200f))) {
      mark = `\\u{${cp.toString(16)}}`;
    }
    if (mark === undefined) { run += ch; continue; }
    if (run) { parts.push([run, false]); run = ''; }
    parts.push([mark, true]);
  }
  if (run) parts.push([run, false]);
  if (!parts.length) parts.push(['∅', true]);  // the empty string is a token too; show that it is empty
  return parts;
}

/** Plain text: "·cat", "↵", "\u{7}". */
export function tokenLabel(token) { return tokenParts(token).map(([t]) => t).join(''); }

/** "3:·cat" — a position and its token, for axis labels and row headers. */
export function posLabel(i, token) { return `${i}:${tokenLabel(token)}`; }

/** The exact token, written so that every character can be read (JSON string escapes): the title of a token node. */
export function tokenExact(token) { return JSON.stringify(String(token ?? '')); }

/** A DOM node for the token (class "tok"; quiet marks in span.tok-quiet; `<unk>` marked as unknown). `prefix`
 *  (e.g. "3:") is put before it as plain text. */
export function tokenNode(token, { tag = 'span', prefix = '', className = '' } = {}) {
  const node = document.createElement(tag);
  node.className = `tok${className ? ` ${className}` : ''}`;
  if (prefix) node.append(prefix);
  for (const [text, quiet] of tokenParts(token)) {
    if (!quiet) { node.append(text); continue; }
    const q = document.createElement('span');
    q.className = 'tok-quiet';
    q.textContent = text;
    node.append(q);
  }
  node.dataset.token = String(token ?? '');
  if (token === UNK) {
    node.classList.add('unk');
    node.title = UNK_TITLE;
  } else {
    node.title = tokenExact(token);
  }
  return node;
}

/** Fill an existing element (a chip button, a table cell) with the token's parts; keeps its other attributes. */
export function fillToken(node, token, prefix = '') {
  const inner = tokenNode(token, { prefix });
  node.replaceChildren(...inner.childNodes);
  node.dataset.token = String(token ?? '');
  if (token === UNK) { node.classList.add('unk'); node.title = UNK_TITLE; } else if (!node.title) node.title = tokenExact(token);
  return node;
}

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Plotly label text: escaped, quiet marks grey, `<unk>` bold in the warning colour. */
export function tokenPlotly(token, prefix = '') {
  const body = tokenParts(token).map(([t, quiet]) => (quiet ? `<span style="color:#9aa3ab">${esc(t)}</span>` : esc(t))).join('');
  const text = `${esc(prefix)}${body}`;
  return token === UNK ? `<span style="color:#a33d00;font-weight:bold">${text}</span>` : text;
}

/** Plain tokens joined for a sentence ("the·cat·sat"): each token's label, separated by nothing (the quiet marks
 *  show the spaces of BPE pieces) or, for word-level tokens without spaces, by a space. */
export function tokensText(tokens) {
  const list = tokens || [];
  const pieces = list.some((t) => /^\s/.test(t));
  return list.map((t) => tokenLabel(t)).join(pieces ? '' : ' ');
}
