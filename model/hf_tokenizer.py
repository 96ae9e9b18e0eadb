"""A Hugging Face checkpoint's own tokenizer behind the interface of model/tokenizer.py (encode, decode to one
display string per token, detokenize, split, vocab, special ids).

The tokenizer comes from the checkpoint's files: `tokenizer.json` read with `tokenizers` (no `transformers`
needed), or, when only sentencepiece / vocabulary files exist (Marian's source.spm, BERT's vocab.txt),
`transformers.AutoTokenizer`. Tokens are shown readably: byte-level BPE pieces as their text ("Ġcat" -> " cat",
bytes of an incomplete character as <0xHH>), SentencePiece's "▁" as a leading space ("▁cat" -> " cat"),
WordPiece continuations without their "##" ("##s" -> "s") and word-initial pieces with a leading space
("cat" -> " cat"), so that the pieces of a text read as the text. Special tokens are shown as they are written
("[CLS]", "</s>") and typed special tokens are read as such (BERT's "[MASK]").
"""
from __future__ import annotations

import json
from pathlib import Path

from .tokenizer import _byte_decoder, readable_bytes

ROLES = ("bos", "eos", "pad", "unk", "mask", "cls", "sep")


def _content(value) -> str | None:
    """A special token as tokenizer_config.json writes it: a string, or an AddedToken dict with "content"."""
    if isinstance(value, dict):
        return value.get("content")
    return value if isinstance(value, str) else None


def _read_json(path: Path) -> dict:
    return json.loads(path.read_text()) if path.exists() else {}


def _types(node) -> set[str]:
    """Every "type" named anywhere in a tokenizer.json component (sequences nest their parts)."""
    found = set()
    if isinstance(node, dict):
        if isinstance(node.get("type"), str):
            found.add(node["type"])
        for v in node.values():
            found |= _types(v)
    elif isinstance(node, list):
        for v in node:
            found |= _types(v)
    return found


class _FastBackend:
    """A `tokenizers.Tokenizer`."""

    def __init__(self, tok):
        self.tok = tok
        spec = json.loads(tok.to_str())
        model = spec.get("model") or {}
        parts = [spec.get("normalizer"), spec.get("pre_tokenizer"), spec.get("decoder")]
        kinds = set().union(*map(_types, parts))
        self.byte_level = "ByteLevel" in kinds
        # SentencePiece style: a Metaspace step, or (Llama 2) a normalizer / decoder that swaps "▁" and " "
        self.metaspace = "Metaspace" in kinds or "▁" in json.dumps(parts, ensure_ascii=False)
        self.continuation = model.get("continuing_subword_prefix") if model.get("type") == "WordPiece" else None
        added = tok.get_added_tokens_decoder()
        self.special_ids = {i for i, t in added.items() if t.special}
        self.added_ids = set(added)
        self.size = tok.get_vocab_size(with_added_tokens=True)

    def encode(self, text: str) -> list[int]:
        return self.tok.encode(text, add_special_tokens=False).ids

    def piece(self, i: int) -> str | None:
        return self.tok.id_to_token(i)

    def token_to_id(self, piece: str) -> int | None:
        return self.tok.token_to_id(piece)

    def decode(self, ids: list[int], skip_specials: bool) -> str:
        return self.tok.decode(ids, skip_special_tokens=skip_specials)


class _SlowBackend:
    """A `transformers` tokenizer without a `tokenizers` backend (sentencepiece: Marian)."""

    def __init__(self, hf):
        self.hf = hf
        self.byte_level, self.metaspace, self.continuation = False, True, None
        self.special_ids = set(hf.all_special_ids)
        self.added_ids = set(self.special_ids)
        self.size = len(hf)

    def encode(self, text: str) -> list[int]:
        return self.hf.encode(text, add_special_tokens=False)

    def piece(self, i: int) -> str | None:
        return self.hf.convert_ids_to_tokens(i)

    def token_to_id(self, piece: str) -> int | None:
        i = self.hf.convert_tokens_to_ids(piece)
        return None if i == self.hf.unk_token_id and piece != self.hf.unk_token else i

    def decode(self, ids: list[int], skip_specials: bool) -> str:
        return self.hf.decode(ids, skip_special_tokens=skip_specials)


class HFTokenizer:
    """The tokenizer of a Hugging Face checkpoint. `vocab` has one display string per id of the model's
    vocabulary (`n_vocab`, which may exceed the tokenizer's: ids without a piece show as <unused N>)."""

    kind = "hf"

    def __init__(self, backend, special_tokens: dict[str, str | None], n_vocab: int | None = None,
                 ids: dict[str, int | None] | None = None):
        self.backend = backend
        self._to_byte = _byte_decoder() if backend.byte_level else None
        n = max(n_vocab or 0, backend.size)
        self.vocab = [self._display(i) for i in range(n)]
        found = {r: (backend.token_to_id(t) if t else None) for r, t in special_tokens.items()}
        for role, i in (ids or {}).items():  # the model config's ids fill the roles the tokenizer files do not
            # mention at all (GPT-2's files name no token; Qwen2's say bos_token: null, and mean it)
            if role not in special_tokens and i is not None and 0 <= i < n:
                found[role] = i
        self.pad_id, self.unk_id, self.mask_id = found.get("pad"), found.get("unk"), found.get("mask")
        # an encoder (BERT) opens with [CLS] and closes with [SEP] where it has no <bos> / <eos>
        self.bos_id = found.get("bos") if found.get("bos") is not None else found.get("cls")
        self.eos_id = found.get("eos") if found.get("eos") is not None else found.get("sep")
        self.specials = set(backend.special_ids) | {i for i in found.values() if i is not None}

    # --- construction ------------------------------------------------------------------------------------------
    @classmethod
    def from_dir(cls, path, n_vocab: int | None = None, config_ids: dict[str, int | None] | None = None
                 ) -> "HFTokenizer":
        """The tokenizer saved in a checkpoint directory. `config_ids`: special ids from the model's config
        (bos_token_id, ...) used where the tokenizer files name none."""
        path = Path(path)
        settings = {**_read_json(path / "special_tokens_map.json"), **_read_json(path / "tokenizer_config.json")}
        if (path / "tokenizer.json").exists():
            from tokenizers import Tokenizer
            backend = _FastBackend(Tokenizer.from_file(str(path / "tokenizer.json")))
            special = {r: _content(settings[f"{r}_token"]) for r in ROLES if f"{r}_token" in settings}
            return cls(backend, special, n_vocab, config_ids)
        if settings.get("separate_vocabs"):
            raise RuntimeError(f"{path}: separate source and target vocabularies (separate_vocabs) are not "
                               "supported; the core reads one vocabulary")
        try:
            from transformers import AutoTokenizer
        except ImportError as e:  # pragma: no cover - the hf extra installs it
            raise RuntimeError(f"{path} has no tokenizer.json; reading its tokenizer files needs transformers "
                               "(pip install -e \".[hf]\")") from e
        try:
            hf = AutoTokenizer.from_pretrained(str(path))
        except Exception as e:
            raise RuntimeError(f"could not read the tokenizer in {path} ({type(e).__name__}: {e}); a checkpoint "
                               "needs tokenizer.json or the files its transformers tokenizer reads (e.g. vocab.txt, "
                               "*.spm; sentencepiece tokenizers need pip install sentencepiece)") from e
        special = {r: getattr(hf, f"{r}_token", None) for r in ROLES}
        fast = getattr(hf, "backend_tokenizer", None)
        backend = _FastBackend(fast) if fast is not None else _SlowBackend(hf)
        return cls(backend, {r: str(t) for r, t in special.items() if t is not None}, n_vocab, config_ids)

    # --- display ------------------------------------------------------------------------------------------------
    def _display(self, i: int) -> str:
        b = self.backend
        piece = b.piece(i)
        if piece is None:
            return f"<unused {i}>"
        if i in b.added_ids:  # added tokens are written as themselves (specials, or e.g. runs of spaces)
            return piece
        if self._to_byte is not None:
            try:
                return readable_bytes(bytes(self._to_byte[c] for c in piece))
            except KeyError:
                return piece
        if b.continuation:
            return piece[len(b.continuation):] if piece.startswith(b.continuation) else " " + piece
        if b.metaspace:
            return piece.replace("▁", " ")
        return piece

    # --- the interface of model/tokenizer.py ---------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.vocab)

    def encode(self, text: str, bos: bool = False, eos: bool = False) -> list[int]:
        ids = self.backend.encode(text)
        if bos and self.bos_id is not None:
            ids = [self.bos_id] + ids
        if eos and self.eos_id is not None:
            ids = ids + [self.eos_id]
        return ids

    def decode(self, ids) -> list[str]:
        """One display string per token."""
        return [self.vocab[int(i)] for i in ids]

    def detokenize(self, ids, skip_specials: bool = True) -> str:
        return self.backend.decode([int(i) for i in ids], skip_specials)

    def split(self, text: str) -> list[str]:
        """The token pieces of the text, as shown (see `decode`)."""
        return self.decode(self.encode(text))
