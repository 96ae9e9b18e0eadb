"""How a tokenizer cut a text: one `Piece` per token (id, display string, raw bytes, character span, special,
unknown) and one `TokenizerInfo` per tokenizer (kind, vocabulary size, special tokens).

Each tokenizer class answers for itself through `pieces(tokenizer, text)` and `describe(tokenizer)`, dispatched on
the class (functools.singledispatch), so the classes of model/tokenizer.py and model/hf_tokenizer.py are used
through their public interface only and a new tokenizer class adds its own two functions here.

Spans are character offsets into `text` (Python string indices, so an emoji is one character), half-open
[start, end). A token's span covers the characters its bytes belong to: when a character's UTF-8 bytes are split
over several tokens (byte-level BPE cuts an emoji or a rare accented letter into byte pieces), each of those
tokens has that character's span, so neighbouring spans overlap by that one character and never otherwise.
"""
from __future__ import annotations

import re
import weakref
from bisect import bisect_right
from dataclasses import dataclass
from functools import singledispatch

from .hf_tokenizer import HFTokenizer
from .tokenizer import _PIECE, SPECIALS, BPETokenizer, WordTokenizer

_BYTE_PIECE = re.compile(r"^<0x([0-9A-Fa-f]{2})>$")  # SentencePiece's byte-fallback tokens


@dataclass(frozen=True)
class Piece:
    id: int
    piece: str  # the display string (tokenizer.decode([id])[0])
    start: int | None  # character span in the text; None where the tokenizer gives no offsets
    end: int | None
    bytes: bytes | None  # the token's raw bytes (byte-level tokens, byte-fallback tokens); None otherwise
    special: bool  # a special token of the vocabulary (<bos>, <|endoftext|>, [CLS], <unk>, ...)
    unknown: bool  # the unknown token (also special): the tokenizer could not represent this part of the text


@dataclass(frozen=True)
class TokenizerInfo:
    kind: str  # "word" | "bpe" | "wordpiece" | "sentencepiece" | "unigram" | "wordlevel"
    byte_level: bool  # every token is a sequence of bytes: any text is representable, nothing is unknown
    vocab_size: int
    specials: tuple[tuple[int, str], ...]  # (id, display string), by id


@singledispatch
def pieces(tokenizer, text: str) -> list[Piece]:
    """The tokens of `text` (no <bos>/<eos> added: exactly `tokenizer.encode(text)`), one Piece each."""
    raise TypeError(f"no pieces() for tokenizer class {type(tokenizer).__name__}")


@singledispatch
def describe(tokenizer) -> TokenizerInfo:
    raise TypeError(f"no describe() for tokenizer class {type(tokenizer).__name__}")


def byte_spans(text: str, token_bytes: list[bytes]) -> list[tuple[int, int]] | None:
    """Character spans of tokens whose bytes, joined, are the text's UTF-8 (None if they are not): each token
    covers the characters that any of its bytes belong to."""
    raw = text.encode("utf-8")
    if b"".join(token_bytes) != raw:
        return None
    starts, pos = [], 0  # byte offset where each character starts
    for ch in text:
        starts.append(pos)
        pos += len(ch.encode("utf-8"))
    spans, at = [], 0
    for b in token_bytes:
        if not b:
            spans.append((bisect_right(starts, at), bisect_right(starts, at)))  # empty: sits between characters
            continue
        first = bisect_right(starts, at) - 1  # the character holding the token's first byte
        last = bisect_right(starts, at + len(b) - 1) - 1  # ... and its last byte
        spans.append((first, last + 1))
        at += len(b)
    return spans


# --- word level (the course models) ---------------------------------------------------------------------------

@pieces.register
def _(tokenizer: WordTokenizer, text: str) -> list[Piece]:
    # WordTokenizer.split lower-cases, then cuts with _PIECE. Lower-casing can change a string's length ("İ" ->
    # "i̇"), so the cut is done on the lower-cased text with a map back to the typed characters.
    lowered, origin = [], []
    for i, ch in enumerate(text):
        low = ch.lower()
        lowered.append(low)
        origin.extend([i] * len(low))
    origin.append(len(text))
    matches = list(_PIECE.finditer("".join(lowered)))
    ids = tokenizer.encode(text)
    if [m.group() for m in matches] != tokenizer.split(text) or len(ids) != len(matches):
        raise AssertionError("WordTokenizer.split and pieces() disagree")  # both read _PIECE; guards a change there
    specials = {tokenizer.index[s] for s in SPECIALS}
    out = []
    for m, i in zip(matches, ids):
        start, end = origin[m.start()], origin[m.end() - 1] + 1
        out.append(Piece(i, tokenizer.vocab[i], start, end, None, i in specials, i == tokenizer.unk_id))
    return out


@describe.register
def _(tokenizer: WordTokenizer) -> TokenizerInfo:
    return TokenizerInfo("word", False, len(tokenizer),
                         tuple(sorted((tokenizer.index[s], s) for s in SPECIALS)))


# --- byte-level BPE (the real-English model) -------------------------------------------------------------------

@pieces.register
def _(tokenizer: BPETokenizer, text: str) -> list[Piece]:
    ids = tokenizer.encode(text)
    raw = [tokenizer.token_bytes[i] for i in ids]
    spans = byte_spans(text, raw) or [(None, None)] * len(ids)
    return [Piece(i, tokenizer.vocab[i], s, e, None if i in tokenizer.specials else b, i in tokenizer.specials,
                  False) for i, b, (s, e) in zip(ids, raw, spans)]


@describe.register
def _(tokenizer: BPETokenizer) -> TokenizerInfo:
    return TokenizerInfo("bpe", True, len(tokenizer), tuple((i, tokenizer.vocab[i]) for i in sorted(tokenizer.specials)))


# --- Hugging Face tokenizers ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _HFFacts:
    kind: str
    byte_fallback: bool
    fast: object | None  # the tokenizers.Tokenizer, when there is one (it gives offsets)


_facts: "weakref.WeakKeyDictionary[HFTokenizer, _HFFacts]" = weakref.WeakKeyDictionary()


def _hf_facts(tokenizer: HFTokenizer) -> _HFFacts:
    facts = _facts.get(tokenizer)
    if facts is None:
        backend = tokenizer.backend
        fast = getattr(backend, "tok", None)
        if fast is None:  # a transformers tokenizer without a tokenizers backend: sentencepiece (Marian)
            facts = _HFFacts("sentencepiece", False, None)
        else:
            model = type(fast.model).__name__  # BPE | WordPiece | Unigram | WordLevel
            if model == "BPE":
                kind = "bpe" if backend.byte_level else ("sentencepiece" if backend.metaspace else "bpe")
            elif model == "Unigram":
                kind = "sentencepiece" if backend.metaspace else "unigram"
            else:
                kind = model.lower()
            facts = _HFFacts(kind, bool(getattr(fast.model, "byte_fallback", False)), fast)
        _facts[tokenizer] = facts
    return facts


def _hf_bytes(tokenizer: HFTokenizer, facts: _HFFacts, i: int) -> bytes | None:
    backend = tokenizer.backend
    piece = backend.piece(i)
    if piece is None:
        return None
    if facts.byte_fallback:  # <0xHH> (some tokenizer files list these 256 as added tokens)
        m = _BYTE_PIECE.match(piece)
        if m:
            return bytes([int(m.group(1), 16)])
    if i in backend.added_ids:  # specials and added tokens are not byte sequences of the vocabulary
        return None
    if tokenizer._to_byte is not None:  # byte-level: the piece is written in GPT-2's byte alphabet
        try:
            return bytes(tokenizer._to_byte[c] for c in piece)
        except KeyError:
            return None
    return None


@pieces.register
def _(tokenizer: HFTokenizer, text: str) -> list[Piece]:
    facts = _hf_facts(tokenizer)
    ids = tokenizer.encode(text)
    offsets: list[tuple[int | None, int | None]] = [(None, None)] * len(ids)
    if facts.fast is not None:
        enc = facts.fast.encode(text, add_special_tokens=False)
        if enc.ids == ids:
            offsets = [tuple(o) for o in enc.offsets]
    raw = [_hf_bytes(tokenizer, facts, i) for i in ids]
    if tokenizer.backend.byte_level and all(b is not None for b in raw):
        # exact spans from the bytes (the tokenizer's own may have trimmed a leading space)
        offsets = byte_spans(text, raw) or offsets
    return [Piece(i, tokenizer.vocab[i], s, e, b, i in tokenizer.specials, i == tokenizer.unk_id)
            for i, b, (s, e) in zip(ids, raw, offsets)]


@describe.register
def _(tokenizer: HFTokenizer) -> TokenizerInfo:
    facts = _hf_facts(tokenizer)
    return TokenizerInfo(facts.kind, bool(tokenizer.backend.byte_level), len(tokenizer),
                         tuple((i, tokenizer.vocab[i]) for i in sorted(tokenizer.specials)))
