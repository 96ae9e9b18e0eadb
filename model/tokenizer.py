"""Word-level tokenizer: lower-cased words and punctuation marks, one token each.

Anything not in the vocabulary becomes the explicit `<unk>` token, so a user always sees that the model did
not know a word instead of it silently vanishing.
"""
from __future__ import annotations

import re

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<bos>", "<eos>"
SPECIALS = (PAD, UNK, BOS, EOS)  # ids 0..3 in every vocabulary
_PIECE = re.compile(r"<[a-z]+>|[\w']+|[^\w\s]")


class WordTokenizer:
    def __init__(self, vocab: list[str]):
        if tuple(vocab[: len(SPECIALS)]) != SPECIALS:
            raise ValueError(f"a vocabulary must start with {SPECIALS}")
        if len(set(vocab)) != len(vocab):
            raise ValueError("vocabulary has duplicate words")
        self.vocab = list(vocab)
        self.index = {w: i for i, w in enumerate(vocab)}
        self.pad_id, self.unk_id, self.bos_id, self.eos_id = (self.index[s] for s in SPECIALS)

    def __len__(self) -> int:
        return len(self.vocab)

    @staticmethod
    def split(text: str) -> list[str]:
        """The pieces of the text, lower-cased, before lookup: 'The cat, sat.' -> ['the', 'cat', ',', 'sat', '.']"""
        return _PIECE.findall(text.lower())

    def encode(self, text: str, bos: bool = False, eos: bool = False) -> list[int]:
        ids = [self.index.get(p, self.unk_id) for p in self.split(text)]
        return ([self.bos_id] if bos else []) + ids + ([self.eos_id] if eos else [])

    def decode(self, ids) -> list[str]:
        return [self.vocab[int(i)] for i in ids]

    def detokenize(self, ids, skip_specials: bool = True) -> str:
        words = [w for w in self.decode(ids) if not (skip_specials and w in SPECIALS)]
        return re.sub(r" ([.,!?;])", r"\1", " ".join(words))
