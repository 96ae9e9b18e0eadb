"""The byte-level BPE of the real-English model: any text round-trips exactly, nothing is ever unknown, and the
pieces shown for each token are the text the person typed."""
from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from model import english
from model.tokenizer import EOT, BPETokenizer, readable_bytes
from model.zoo import CHECKPOINT_DIR


@pytest.fixture(scope="module")
def tok() -> BPETokenizer:
    return BPETokenizer.from_file(CHECKPOINT_DIR / english.TOKENIZER_FILE)


@settings(max_examples=400, deadline=None)
@given(text=st.text(alphabet=st.characters(codec="utf-8"), max_size=80))
def test_any_text_round_trips_exactly(tok, text):
    ids = tok.encode(text)
    assert tok.detokenize(ids) == text
    assert all(0 <= i < len(tok) for i in ids)
    # every id is an ordinary token: the special token's spelling inside text stays text
    assert tok.eot_id not in ids


@pytest.mark.parametrize("text", [
    "my sister bought a new car yesterday",
    "Crème brûlée, naïve café — déjà vu",
    "emoji 🙂🚲 and a flag 🇫🇷",
    "שלום עולם and مرحبا بالعالم",
    "tab\there, bell\x07, nul\x00, CRLF\r\n done",
    "typed " + EOT + " inside text",
])
def test_hostile_unicode_round_trips(tok, text):
    assert tok.detokenize(tok.encode(text)) == text
    assert tok.unk_id is None


def test_pieces_are_the_typed_text(tok):
    text = "my sister bought a new car yesterday"
    pieces = tok.decode(tok.encode(text))
    assert "".join(pieces) == text
    assert pieces[0] == "my" and pieces[1] == " sister"  # a word keeps its leading space


def test_partial_characters_are_shown_as_bytes():
    # a token that holds only part of a UTF-8 character cannot be shown as text: its bytes are shown instead
    assert readable_bytes("é".encode()) == "é"
    assert readable_bytes("é".encode()[:1]) == "<0xC3>"
    assert readable_bytes(b"a\xf0\x9f") == "a<0xF0><0x9F>"


def test_bos_and_eos_are_the_end_of_text_token(tok):
    ids = tok.encode("hello", bos=True, eos=True)
    assert ids[0] == ids[-1] == tok.eot_id
    assert tok.decode([tok.eot_id]) == [EOT]
    assert tok.detokenize(ids) == "hello"
    assert tok.detokenize(ids, skip_specials=False) == EOT + "hello" + EOT


def test_shipped_tokenizer_is_what_training_the_bpe_again_gives(tok):
    # model/train.py refuses to train on a tokenizer that differs from the shipped one; this is that check
    assert english.tokenizer().vocab == tok.vocab
    assert len(tok) == english.VOCAB_SIZE
