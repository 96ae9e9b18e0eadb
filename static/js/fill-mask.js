// Writing a predicted token into the text in place of a mask token (the sampling page's Step on an encoder-only
// model). A token is a display string (model/hf_tokenizer.py): a piece that starts a word carries its leading
// space (" cat"), a WordPiece continuation has none ("s", written "##s" in the vocabulary), and a special token is
// written as itself ("[SEP]"). So the k-th mask of the text becomes:
//   - a word start: the word without its space, with a space put before it if it would otherwise glue to a word;
//   - a continuation: glued to what precedes the mask (the spaces before the mask dropped), as its tokenizer
//     would have cut it;
//   - a special token: itself, kept apart from a preceding word by a space.

const WORD_CHAR = /[\p{L}\p{N}]$/u;

/** Index of the `ordinal`-th (0-based) occurrence of `mask` in `text`, or -1. */
export function maskIndex(text, mask, ordinal) {
  let at = -1;
  for (let k = 0; k <= ordinal; k += 1) {
    at = text.indexOf(mask, at + 1);
    if (at < 0) return -1;
  }
  return at;
}

/** `text` with its `ordinal`-th `mask` replaced by `token` (see above); null when the text has no such mask. */
export function fillMask(text, mask, ordinal, token, special = false) {
  const at = maskIndex(text, mask, ordinal);
  if (at < 0) return null;
  let before = text.slice(0, at);
  const after = text.slice(at + mask.length);
  let piece = String(token);
  if (special) {
    if (WORD_CHAR.test(before)) piece = ` ${piece}`;
  } else if (/^\s/.test(piece)) {
    piece = piece.replace(/^\s+/, '');
    if (WORD_CHAR.test(before)) piece = ` ${piece}`;
  } else {
    before = before.replace(/\s+$/, '');
  }
  return before + piece + after;
}
