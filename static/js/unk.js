// Words outside the vocabulary: the tokenizer turns each into the explicit `<unk>` token. tokens.js marks such
// tokens (class "unk" + UNK_TITLE); pages say how many words of the input were unknown, in a note under the status.
export const UNK = '<unk>';
export const UNK_TITLE = 'not in the vocabulary: the model reads the unknown token <unk> here';

export function unkCount(tokens) { return (tokens || []).filter((t) => t === UNK).length; }

/** The sentence shown for a run: '' when every word is known. */
export function unkText(tokens, targetTokens) {
  const parts = [];
  const n = unkCount(tokens);
  const m = unkCount(targetTokens);
  const words = (k) => `${k} word${k === 1 ? '' : 's'}`;
  if (n) parts.push(`${words(n)} of the ${targetTokens ? 'source ' : ''}text`);
  if (m) parts.push(`${words(m)} of the target`);
  if (!parts.length) return '';
  return `${parts.join(' and ')} ${n + m === 1 ? 'is' : 'are'} not in the vocabulary and became ${UNK}: `
    + 'the model sees one shared "unknown" vector there, not the word.';
}

/** Write the note into #unk-note (created after #status, or after #error, on first use); hidden when none. */
export function showUnknown(tokens, targetTokens) {
  let box = document.getElementById('unk-note');
  if (!box) {
    const anchor = document.getElementById('status') || document.getElementById('error');
    if (!anchor) return;
    box = document.createElement('p');
    box.id = 'unk-note';
    box.className = 'unk-note';
    box.setAttribute('role', 'status');
    anchor.after(box);
  }
  const text = unkText(tokens, targetTokens);
  box.textContent = text;
  box.hidden = !text;
  box.dataset.count = String(unkCount(tokens) + unkCount(targetTokens));
}
