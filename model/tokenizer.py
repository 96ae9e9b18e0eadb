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


# --- Subword tokenizers (Hugging Face `tokenizers`) -------------------------------------------------------------

EOT = "<|endoftext|>"  # the byte-level BPE model's one special token: start of text, and between documents


def _byte_decoder() -> dict[str, int]:
    """The inverse of GPT-2's byte ↔ printable-character table that byte-level BPE vocabularies are written in
    (bytes that print as themselves keep their character; the others are shifted to U+0100 and up)."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    chars, extra = {}, 0
    for b in range(256):
        if b in printable:
            chars[b] = chr(b)
        else:
            chars[b] = chr(256 + extra)
            extra += 1
    return {c: b for b, c in chars.items()}


def readable_bytes(raw: bytes) -> str:
    """The text of a token's bytes; bytes that are not (yet) a whole UTF-8 character are shown as <0xHH>."""
    out, i = [], 0
    while i < len(raw):
        for j in range(min(len(raw), i + 4), i, -1):  # the longest valid UTF-8 sequence starting at i
            try:
                out.append(raw[i:j].decode("utf-8"))
                i = j
                break
            except UnicodeDecodeError:
                continue
        else:
            out.append(f"<0x{raw[i]:02X}>")
            i += 1
    return "".join(out)


class BPETokenizer:
    """A byte-level BPE (`tokenizers.Tokenizer`, saved as tokenizer.json) behind the WordTokenizer interface.

    Any text round-trips exactly (every byte has a token, so there is no unknown token), and the special token's
    spelling inside user text is read as plain text, not as the special token. `decode` gives each token's own
    text (a leading space stays a space); a token holding part of a multi-byte character shows its bytes as
    <0xHH>.
    """

    kind = "bpe"

    def __init__(self, tokenizer):
        self.tok = tokenizer
        self.tok.encode_special_tokens = True  # "<|endoftext|>" typed by a user is text, not the special token
        self.eot_id = self.tok.token_to_id(EOT)
        if self.eot_id is None:
            raise ValueError(f"a byte-level BPE vocabulary must hold {EOT}")
        self.bos_id = self.eos_id = self.eot_id
        self.pad_id = self.eot_id  # never attended to in practice: decoder-only inputs are unpadded
        self.unk_id = None
        to_byte = _byte_decoder()
        vocab = self.tok.get_vocab()
        self.vocab = [""] * len(vocab)
        self.token_bytes: list[bytes] = [b""] * len(vocab)
        for piece, i in vocab.items():
            if piece == EOT:
                self.vocab[i] = piece
                continue
            self.token_bytes[i] = bytes(to_byte[c] for c in piece)
            self.vocab[i] = readable_bytes(self.token_bytes[i])
        self.specials = {self.eot_id}

    @classmethod
    def from_file(cls, path) -> "BPETokenizer":
        from tokenizers import Tokenizer
        return cls(Tokenizer.from_file(str(path)))

    def save(self, path) -> None:
        self.tok.save(str(path))

    def __len__(self) -> int:
        return len(self.vocab)

    def split(self, text: str) -> list[str]:
        """The token pieces of the text, as shown (see `decode`)."""
        return self.decode(self.encode(text))

    def encode(self, text: str, bos: bool = False, eos: bool = False) -> list[int]:
        ids = self.tok.encode(text, add_special_tokens=False).ids
        return ([self.bos_id] if bos else []) + ids + ([self.eos_id] if eos else [])

    def decode(self, ids) -> list[str]:
        return [self.vocab[int(i)] for i in ids]

    def detokenize(self, ids, skip_specials: bool = True) -> str:
        """The exact text of the ids (bytes joined, then decoded; only an incomplete final character is lost)."""
        out, raw = [], bytearray()
        for i in map(int, ids):
            if i in self.specials:
                out.append(raw.decode("utf-8", errors="replace"))
                raw.clear()
                if not skip_specials:
                    out.append(self.vocab[i])
            else:
                raw += self.token_bytes[i]
        out.append(raw.decode("utf-8", errors="replace"))
        return "".join(out)


def train_bpe(texts, vocab_size: int) -> BPETokenizer:
    """Train a byte-level BPE on an iterable of documents: GPT-2's pre-tokenizer (words keep their leading
    space), no normaliser (text is kept exactly), the 256 bytes always in the alphabet, and `EOT` as id 0."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=[EOT], show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(texts, trainer=trainer)
    return BPETokenizer(tok)
