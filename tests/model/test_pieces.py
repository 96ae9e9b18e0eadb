"""model/pieces.py on the Hugging Face tokenizer kinds (the word-level and english-bpe tokenizers are covered
through the API in tests/app/test_tokenize_api.py): WordPiece, SentencePiece-style BPE with byte fallback, GPT-2
style byte-level BPE, and a slow sentencepiece tokenizer read through transformers (Marian). The tokenizers are
trained here on tests/model/hf_fixtures.SENTENCES; expected values come from the `tokenizers` / `transformers`
objects themselves, Python's UTF-8 encoder and the texts."""
from __future__ import annotations

import pytest

from model.hf_tokenizer import HFTokenizer
from model.pieces import describe, pieces
from tests.model import hf_fixtures as fx


def _from_dir(hf_tok, directory) -> HFTokenizer:
    hf_tok.save_pretrained(directory)
    return HFTokenizer.from_dir(directory)


@pytest.fixture(scope="module")
def wordpiece(tmp_path_factory):
    return _from_dir(fx.wordpiece(), tmp_path_factory.mktemp("wordpiece"))


@pytest.fixture(scope="module")
def metaspace(tmp_path_factory):
    return _from_dir(fx.metaspace_bpe(unk_token="<unk>", bos_token="<s>", eos_token="</s>"),
                     tmp_path_factory.mktemp("metaspace"))


@pytest.fixture(scope="module")
def byte_bpe(tmp_path_factory):
    return _from_dir(fx.byte_bpe(eos_token="<|endoftext|>", bos_token="<|endoftext|>"),
                     tmp_path_factory.mktemp("byte_bpe"))


def test_wordpiece_pieces_spans_and_unknown_words(wordpiece):
    text = "The Heron counted zebras, quietly"  # no z or q in the training sentences: those words are [UNK]
    found = pieces(wordpiece, text)
    assert [p.id for p in found] == wordpiece.encode(text)
    unk = wordpiece.backend.token_to_id("[UNK]")
    for word in ("The", "Heron", "counted", "zebras", ",", "quietly"):
        start = text.index(word)
        own = [p for p in found if start <= p.start < start + len(word)]
        assert own and own[0].start == start and own[-1].end == start + len(word)  # the word's pieces cover it
        if "z" in word or "q" in word:
            assert [(p.id, p.unknown, p.special) for p in own] == [(unk, True, True)]
        else:  # its pieces (without the display's leading space) spell the lower-cased word
            assert "".join(p.piece for p in own).strip() == word.lower()
            assert not any(p.unknown for p in own)
    assert all(p.bytes is None for p in found)
    info = describe(wordpiece)
    assert info.kind == "wordpiece" and not info.byte_level
    assert {t for _, t in info.specials} == {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}


def test_sentencepiece_bpe_byte_fallback_pieces_carry_their_byte(metaspace):
    text = "the heron ate crème 🦩"  # è and the flamingo are not in the training text: byte-fallback tokens
    found = pieces(metaspace, text)
    assert [p.id for p in found] == metaspace.encode(text)
    fallback = [p for p in found if p.bytes is not None]
    assert b"".join(p.bytes for p in fallback) == "è🦩".encode("utf-8")
    assert all(len(p.bytes) == 1 and p.piece == f"<0x{p.bytes[0]:02X}>" for p in fallback)
    assert not any(p.unknown for p in found)
    assert set().union(*(range(p.start, p.end) for p in found)) == set(range(len(text)))  # spans cover the text
    for p in fallback:  # each byte piece points at the character its byte belongs to
        assert p.bytes in text[p.start:p.end].encode("utf-8")
    info = describe(metaspace)
    assert info.kind == "sentencepiece" and not info.byte_level


def test_gpt2_style_byte_level_bpe(byte_bpe):
    text = "the heron, שלום 🦩\tend"
    found = pieces(byte_bpe, text)
    assert [p.id for p in found] == byte_bpe.encode(text)
    assert b"".join(p.bytes for p in found) == text.encode("utf-8")
    covered = set()
    for p in found:
        covered.update(range(p.start, p.end))
        assert p.bytes in text[p.start:p.end].encode("utf-8")
    assert covered == set(range(len(text)))
    info = describe(byte_bpe)
    assert info.kind == "bpe" and info.byte_level
    assert info.specials == ((byte_bpe.backend.token_to_id("<|endoftext|>"), "<|endoftext|>"),)


def test_slow_sentencepiece_tokenizer_gives_ids_without_offsets(tmp_path):
    hf = fx.marian_tokenizer(tmp_path / "spm")
    tok = _from_dir(hf, tmp_path / "marian")
    assert tok.backend.__class__.__name__ == "_SlowBackend"
    text = "the heron waited by the wall"
    found = pieces(tok, text)
    assert [p.id for p in found] == hf.encode(text, add_special_tokens=False)
    assert all(p.start is None and p.end is None and p.bytes is None for p in found)
    assert "".join(p.piece for p in found).strip() == text
    assert describe(tok).kind == "sentencepiece"
