// /tokenizer: how the model's tokenizer cuts a text (POST /api/v1/tokenize). Each token is a chip (tokens.js) with
// its id, and its bytes in hex where they are not plain ASCII; the text is drawn again with each token's span shaded,
// and the chip and the span of the chosen token are linked both ways. The page re-tokenizes as the person types.
// Offsets from the API are Python string indices (code points), so the text is sliced as an array of code points
// here, never with String.slice (UTF-16 units: an emoji is two of those).
import { postJSON } from './api.js';
import { el } from './dom.js';
import { $, startPage } from './page.js';
import { tokenLabel, tokenNode } from './tokens.js';
import { showUnknown } from './unk.js';
import { param } from './url-state.js';

// Sentences written for this page: everyday English, accents, emoji, right-to-left scripts, a passage said twice,
// control characters and the end-of-text token's spelling typed as text.
const EXAMPLES = [
  { label: 'Everyday English', text: 'The bakery on Elm Street sells out of rye bread before nine.',
    note: 'Common words are one piece each; a rarer name may take two or three.' },
  { label: 'Accents', text: 'Zoë and José shared a crème brûlée at the café in Malmö.', bytes: true,
    note: 'An accented letter is two bytes; where the vocabulary has no piece for the pair, each byte is its own piece.' },
  { label: 'Emoji', text: 'Rain again 🌧️ so the dog refused his walk 🐕 and sulked 😤.', bytes: true,
    note: 'An emoji is four bytes (the rain cloud is a picture plus an invisible "show as emoji" sign, seven bytes in all).' },
  { label: 'Right to left', text: 'Good morning is בוקר טוב in Hebrew and صباح الخير in Arabic.', bytes: true,
    note: 'The Hebrew and Arabic letters are drawn right to left in the text, but the pieces come in the order they are stored, first letter first.' },
  { label: 'A repeated passage', text: 'The blue kite caught the wind above the harbour wall. The blue kite caught the wind above the harbour wall.',
    note: 'The second copy is cut into the same pieces as the first, except its first word, which now has a space in front. '
      + 'A model with an induction head uses such repeats to predict what comes next (see the Attention page).' },
  { label: 'Tabs and new lines', text: 'if pears > 3:\n\tprint("too many")  # two spaces\n', bytes: true,
    note: 'Invisible characters are pieces too: ↵ is a new line, → a tab, and each · a space.' },
  { label: 'Numbers', text: 'In 1987 the 747 flew 13,450 km in 16.5 hours.',
    note: 'Numbers are cut into short runs of digits, not read as quantities.' },
  { label: 'A special token, typed', text: 'Typing <|endoftext|> here is only text.', bytes: true,
    note: 'Typed, the end-of-text marker is only ordinary characters; the model\'s real end-of-text token is added by the program, never by what you type.' },
];
const DEFAULT_TEXT = EXAMPLES[0].text;
const KIND_NAMES = { bpe: 'byte-pair encoding', wordpiece: 'WordPiece', sentencepiece: 'SentencePiece', unigram: 'unigram',
  wordlevel: 'word level', word: 'word level' };
const TYPING_PAUSE_MS = 200; // re-tokenize this long after the last key press
const fmt = new Intl.NumberFormat('en');
const enc = new TextEncoder();

let page = null;
let shown = null; // {answer, chars: [code points of the text]}

const hex = (bytes) => bytes.map((b) => b.toString(16).toUpperCase().padStart(2, '0')).join(' ');
const printableAscii = (bytes) => bytes.every((b) => b >= 0x20 && b < 0x7f);
const isBytePiece = (t) => Array.isArray(t.bytes) && t.piece.includes('<0x');
const spanText = (t) => (t.start === undefined ? null : shown.chars.slice(t.start, t.end).join(''));
const plural = (n, one, many = `${one}s`) => `${fmt.format(n)} ${n === 1 ? one : many}`;

function tokenTitle(t, i) {
  const parts = [`piece ${i + 1}: id ${t.id}`];
  if (t.bytes) parts.push(`bytes ${hex(t.bytes)}`);
  if (t.start !== undefined) parts.push(`characters ${t.start}–${t.end}`);
  if (t.unknown) parts.push('not in the vocabulary: the model reads the unknown token here');
  else if (t.special) parts.push('a special token');
  return parts.join(' · ');
}

function chip(t, i) {
  const b = el('button', { type: 'button', className: 'chip tok-chip', title: tokenTitle(t, i), dataset: { i: String(i) } });
  b.setAttribute('aria-pressed', 'false');
  b.append(tokenNode(t.piece, { className: 'tok-piece' }), el('span', { className: 'tok-id', textContent: String(t.id) }));
  if (t.bytes && !printableAscii(t.bytes)) b.append(el('span', { className: 'tok-hex', textContent: hex(t.bytes) }));
  if (isBytePiece(t) && t.start !== undefined) b.append(el('span', { className: 'tok-of', textContent: `of ${spanText(t)}` }));
  if (t.unknown && t.start !== undefined) b.append(el('span', { className: 'tok-of', textContent: `for ${spanText(t)}` }));
  if (t.unknown) b.classList.add('unk');
  if (t.special) b.classList.add('special');
  b.addEventListener('click', () => select(i));
  return b;
}

// The text, each token's characters in its own shade. A character whose bytes are split over several tokens is
// drawn once, under the first of them; choosing any of them outlines it.
function drawText(tokens) {
  const box = $('tok-text');
  const { chars } = shown;
  if (tokens.some((t) => t.start === undefined)) {
    box.replaceChildren(el('p', { className: 'muted', textContent: 'This tokenizer does not say which characters each piece came from.' }));
    return;
  }
  const nodes = [];
  const plain = (from, to) => { if (to > from) nodes.push(el('span', { className: 'tok-gap', textContent: chars.slice(from, to).join('') })); };
  let done = 0;
  let shade = 0;
  tokens.forEach((t, i) => {
    plain(done, t.start);
    const from = Math.max(done, t.start);
    if (t.end > from) {
      const seg = chars.slice(from, t.end).join('');
      // a line may break before a piece that starts with white space: its quiet mark "·" is not a space to the browser
      if (/^\s/.test(seg) && nodes.length) nodes.push(document.createElement('wbr'));
      const node = tokenNode(seg, { className: `tok-span shade${shade % 2}` });
      shade += 1;
      node.dataset.i = String(i);
      node.dataset.start = String(from);
      node.dataset.end = String(t.end);
      node.title = tokenTitle(t, i);
      if (t.unknown) node.classList.add('unk');
      node.addEventListener('click', () => select(i));
      nodes.push(node);
      for (const ch of seg) if (ch === '\n') nodes.push(document.createElement('br'));
    }
    done = Math.max(done, t.end);
  });
  plain(done, chars.length);
  box.replaceChildren(...nodes);
}

// What the model adds around the text's tokens: "<|endoftext|> first", "</s> last", "[CLS] first and [SEP] last".
function addedText(ids, tokens, tokenizer) {
  const own = tokens.map((t) => t.id);
  const at = ids.findIndex((_, k) => own.every((id, j) => ids[k + j] === id));
  const name = (id) => (tokenizer.specials.find((s) => s.id === id) || { token: `id ${id}` }).token;
  if (at < 0) return 'the text\'s tokens with special tokens added';
  const before = ids.slice(0, at).map(name).join(' ');
  const after = ids.slice(at + own.length).map(name).join(' ');
  return [before && `${before} first`, after && `${after} last`].filter(Boolean).join(' and ');
}

function summary(answer) {
  const { tokens, tokenizer, input_ids: ids, n_ctx: nCtx } = answer;
  const nChars = shown.chars.length;
  const nBytes = enc.encode(page.state.text).length;
  const kind = tokenizer.byte_level ? `byte-level ${KIND_NAMES[tokenizer.kind] || tokenizer.kind}` : (KIND_NAMES[tokenizer.kind] || tokenizer.kind);
  const parts = [`${plural(nChars, 'character')} (${plural(nBytes, 'byte')} of UTF-8) → ${plural(tokens.length, 'token')}`
    + (tokens.length ? `, ${(nChars / tokens.length).toFixed(1)} characters per token` : ''),
  `${kind} vocabulary of ${fmt.format(tokenizer.vocab_size)} tokens`];
  if (ids.length > tokens.length) parts.push(`the model reads ${plural(ids.length, 'id')}: ${addedText(ids, tokens, tokenizer)}`);
  $('tok-summary').textContent = `${parts.join(' · ')}.`;
  if (ids.length > nCtx) {
    $('tok-summary').append(el('span', { className: 'tok-over', textContent: ` That is more than the ${fmt.format(nCtx)} tokens `
      + `${answer.model} reads at once: the other pages will ask for a shorter text.` }));
  }
  $('tok-ids').textContent = `[${ids.join(', ')}]`;
}

function explain(tokenizer) {
  const word = tokenizer.kind === 'word';
  $('explain-bytes').hidden = !tokenizer.byte_level;
  $('explain-word').hidden = !word;
  $('explain-other').hidden = tokenizer.byte_level || word;
  $('explain-kind').textContent = KIND_NAMES[tokenizer.kind] || tokenizer.kind;
  document.querySelectorAll('.vocab-size').forEach((n) => { n.textContent = fmt.format(tokenizer.vocab_size); });
}

function select(i) {
  if (!shown) return;
  const { tokens } = shown.answer;
  const t = tokens[i];
  page.state.sel = t ? i : null;
  document.querySelectorAll('#tok-chips .tok-chip').forEach((c) => c.setAttribute('aria-pressed', String(Number(c.dataset.i) === i)));
  document.querySelectorAll('#tok-text .tok-span').forEach((s) => {
    const on = t && t.start !== undefined && Number(s.dataset.start) < t.end && Number(s.dataset.end) > t.start;
    s.classList.toggle('sel', Boolean(on));
  });
  const box = $('tok-detail');
  if (!t) {
    box.replaceChildren(el('span', { className: 'muted', textContent: 'Click a piece (or a part of the text) to see its id and where it came from.' }));
    page.save();
    return;
  }
  const bits = [`Piece ${fmt.format(i + 1)} of ${fmt.format(tokens.length)}: `, tokenNode(t.piece), `, id ${t.id}`];
  if (t.bytes) bits.push(`, ${plural(t.bytes.length, 'byte')} ${hex(t.bytes)}`);
  if (t.start !== undefined) {
    const typed = spanText(t);
    bits.push(`, from characters ${t.start}–${t.end} of the text`);
    if (isBytePiece(t)) {
      const n = tokens.filter((u) => u.start === t.start && u.end === t.end && isBytePiece(u)).length;
      bits.push(` (“${typed}”, ${plural(enc.encode(typed).length, 'byte')}, is split over ${plural(n, 'piece')}: the vocabulary has no single piece for it)`);
    } else if (typed !== t.piece) bits.push(` (typed as “${tokenLabel(typed)}”)`);
  }
  if (t.unknown) bits.push('. Not in the vocabulary: the model reads the unknown token here, not the word.');
  else if (t.special) bits.push('. A special token of the vocabulary.');
  else bits.push('.');
  box.replaceChildren(...bits);
  page.save();
}

// The note of the example on screen. The notes describe subword tokenizers (`bytes`: byte-level ones only); a
// word-level model's unknown words are said by the unknown-word note instead.
function exampleNote(tokenizer) {
  const ex = EXAMPLES.find((e) => e.text === page.state.text);
  const fits = ex && (ex.bytes ? tokenizer.byte_level : tokenizer.kind !== 'word');
  const text = fits ? ex.note : '';
  $('example-note').textContent = text;
  $('example-note').hidden = !text;
}

function draw() {
  const { answer } = shown;
  exampleNote(answer.tokenizer);
  summary(answer);
  explain(answer.tokenizer);
  $('tok-chips').replaceChildren(...answer.tokens.map(chip));
  drawText(answer.tokens);
  showUnknown(answer.tokens.filter((t) => t.unknown).map(() => '<unk>'));
  const n = answer.tokens.length;
  const sel = page.state.sel === null ? null : page.clamp('sel', 0, n - 1, 'piece');
  select(sel === null ? -1 : sel);
  $('status').textContent = '';
}

async function run(pg, isLatest) {
  const { model, text } = pg.state;
  if (!text) { // nothing typed: nothing to ask
    shown = null;
    ['tok-chips', 'tok-text', 'tok-detail', 'tok-summary', 'tok-ids'].forEach((id) => $(id).replaceChildren());
    $('status').textContent = 'Type some text above.';
    return;
  }
  const answer = await postJSON('/api/v1/tokenize', { model, text });
  if (!isLatest()) return;
  shown = { answer, chars: Array.from(text) };
  draw();
}

page = startPage({
  params: { model: param.model(), text: param.text(DEFAULT_TEXT), sel: param.int(null, { min: 0, nullable: true }) },
  examples: { decoder: { text: DEFAULT_TEXT, target: '' }, encoder: { text: DEFAULT_TEXT, target: '' },
    encoder_decoder: { text: DEFAULT_TEXT, target: '' } },
  run,
  charts: false,
  busy: 'Tokenizing…',
});

$('examples').replaceChildren(...EXAMPLES.map((ex) => {
  const b = el('button', { type: 'button', className: 'secondary', textContent: ex.label, title: ex.text });
  b.addEventListener('click', () => { $('text').value = ex.text; page.state.sel = null; page.run(); });
  return b;
}));
let typing = null;
$('text').addEventListener('input', () => {
  clearTimeout(typing);
  typing = setTimeout(() => { page.state.sel = null; page.run(); }, TYPING_PAUSE_MS);
});
page.run();
