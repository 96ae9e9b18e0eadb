"""POST /api/v1/tokenize: the pieces of a text as the model's tokenizer cuts it.

Expected values come from outside the code under test: the tokenizer's own `encode`, Python's UTF-8 encoder, the
`tokenizers` library's own list of added tokens, and a per-byte character index built here. Runs on a byte-level
BPE model with random weights and the shipped english-bpe tokenizer (tests/bpe_checkpoint.py) and on the
word-level tiny-gpt."""
from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings, strategies as st

from app.config import Settings
from app.main import create_app
from app.schemas import MAX_TEXT_CHARS
from model.tokenizer import EOT
from tests.bpe_checkpoint import BPE_MODEL, WORD_MODEL, write_bpe_checkpoints

HOSTILE = [
    "My neighbour's robot vacuum adopted a stray sock on Tuesday.",
    "Zoë ordered crème brûlée in São Paulo; the waiter said «très bien».",
    "The kettle whistled 🫖, the cat fled 😾, and a family emoji 👩‍👩‍👧 stayed; flag 🇳🇿.",
    "In Hebrew hello is שלום, in Arabic مرحبا, mixed: abc אבג 123.",
    "controls: nul\x00 bell\x07 tab\t CRLF\r\n DEL\x7f esc\x1b[0m",
    "typing " + EOT + " is just text here",
    "   ",
    "e\u0301 (a combining accent), zero\u200bwidth, BOM\ufeff, line\u2028separator",
    "日本語のテキストと한국어",
]


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    directory = write_bpe_checkpoints(tmp_path_factory.mktemp("checkpoints"))
    with TestClient(create_app(Settings(checkpoint_dir=directory))) as c:
        yield c


@pytest.fixture(scope="module")
def bpe(client):
    return client.app.state.models[BPE_MODEL]


@pytest.fixture(scope="module")
def word(client):
    return client.app.state.models[WORD_MODEL]


def tokenize(client, model: str, text: str) -> dict:
    r = client.post("/api/v1/tokenize", json={"model": model, "text": text})
    assert r.status_code == 200, r.text
    return r.json()


def char_of_byte(text: str) -> list[int]:
    """For each byte of the text's UTF-8, the index of the character it belongs to."""
    out = []
    for i, ch in enumerate(text):
        out += [i] * len(ch.encode("utf-8"))
    return out


def check_bpe_answer(text: str, body: dict, loaded) -> None:
    tok = loaded.tokenizer
    tokens = body["tokens"]
    ids = [t["id"] for t in tokens]
    assert ids == tok.encode(text)
    assert body["input_ids"] == [tok.bos_id] + ids  # a decoder reads its start token first
    # the raw bytes, joined, are the text's UTF-8: nothing lost, nothing unknown
    assert all("bytes" in t and not t["special"] and not t["unknown"] for t in tokens)
    assert b"".join(bytes(t["bytes"]) for t in tokens) == text.encode("utf-8")
    owner = char_of_byte(text)
    at, covered = 0, set()
    for t in tokens:
        raw = bytes(t["bytes"])
        # the span is the characters that the token's bytes belong to
        assert (t["start"], t["end"]) == (owner[at], owner[at + len(raw) - 1] + 1)
        covered.update(range(t["start"], t["end"]))
        try:
            whole = raw.decode("utf-8")
        except UnicodeDecodeError:
            whole = None
        if whole is not None:  # whole characters: the piece is their text, and so is the span
            assert t["piece"] == whole == text[t["start"]:t["end"]]
        else:  # a piece of a character: shown as its bytes, inside that character's span
            assert "<0x" in t["piece"]
            assert raw in text[t["start"]:t["end"]].encode("utf-8")
        at += len(raw)
    assert covered == set(range(len(text)))  # the spans cover the text
    starts, ends = [t["start"] for t in tokens], [t["end"] for t in tokens]
    assert starts == sorted(starts) and ends == sorted(ends)


@pytest.mark.parametrize("text", HOSTILE)
def test_bpe_pieces_are_the_text(client, bpe, text):
    body = tokenize(client, BPE_MODEL, text)
    assert body["model"] == BPE_MODEL
    check_bpe_answer(text, body, bpe)


def test_pieces_of_whole_characters_join_back_to_the_text(client):
    text = HOSTILE[0]  # plain ASCII: every token is whole characters
    tokens = tokenize(client, BPE_MODEL, text)["tokens"]
    assert "".join(t["piece"] for t in tokens) == text
    # a space before a word belongs to the word: the token that starts at that space goes on into the word
    by_start = {t["start"]: t["piece"] for t in tokens}
    for p in (i for i in range(len(text) - 1) if text[i] == " " and text[i + 1].isalpha()):
        assert by_start[p][:2] == text[p:p + 2], (p, by_start[p])


def test_a_split_character_overlaps_the_spans_of_its_byte_pieces(client):
    text = "a🫖b"  # one 4-byte character that the 4,096-token BPE has no single token for
    body = tokenize(client, BPE_MODEL, text)
    inner = [t for t in body["tokens"] if t["start"] == 1]
    assert len(inner) >= 2 and all(t["end"] == 2 for t in inner)  # each byte piece points at the whole emoji
    assert b"".join(bytes(t["bytes"]) for t in inner) == "🫖".encode()


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(text=st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=40))
def test_any_text_is_cut_into_its_own_bytes(client, bpe, text):
    check_bpe_answer(text, tokenize(client, BPE_MODEL, text), bpe)


def test_bpe_tokenizer_description(client, bpe):
    info = tokenize(client, BPE_MODEL, "hello")["tokenizer"]
    added = bpe.tokenizer.tok.get_added_tokens_decoder()  # the tokenizers library's own list
    assert info == {"kind": "bpe", "byte_level": True, "vocab_size": bpe.tokenizer.tok.get_vocab_size(),
                    "specials": [{"id": i, "token": t.content} for i, t in sorted(added.items())]}
    assert info["specials"] == [{"id": 0, "token": EOT}]


def test_word_level_model_marks_unknown_words(client, word):
    text = "The cat, said my sister, bought a new car yesterday."
    body = tokenize(client, WORD_MODEL, text)
    tok = word.tokenizer
    assert body["tokenizer"]["kind"] == "word" and body["tokenizer"]["byte_level"] is False
    assert body["tokenizer"]["specials"] == [{"id": tok.index[s], "token": s} for s in ("<pad>", "<unk>", "<bos>", "<eos>")]
    tokens = body["tokens"]
    assert [t["id"] for t in tokens] == tok.encode(text)
    typed = [text[t["start"]:t["end"]] for t in tokens]
    # the spans are the words and marks as typed, in order (a word-level tokenizer skips spaces only)
    assert typed == ["The", "cat", ",", "said", "my", "sister", ",", "bought", "a", "new", "car", "yesterday", "."]
    for t, w in zip(tokens, typed):
        known = w.lower() in tok.vocab
        assert t["unknown"] is (not known)
        assert t["piece"] == (w.lower() if known else "<unk>")
        assert "bytes" not in t
    assert any(t["unknown"] for t in tokens) and any(not t["unknown"] for t in tokens)
    assert body["input_ids"] == [tok.bos_id] + [t["id"] for t in tokens]


def test_word_level_typed_special_token_is_marked_special(client, word):
    tokens = tokenize(client, WORD_MODEL, "the <pad> cat")["tokens"]
    assert [(t["piece"], t["special"], t["unknown"]) for t in tokens] == [
        ("the", False, False), ("<pad>", True, False), ("cat", False, False)]


def test_a_text_longer_than_the_context_is_still_tokenized(client, bpe):
    text = "the lamp flickered. " * 60
    body = tokenize(client, BPE_MODEL, text)
    assert body["n_ctx"] == bpe.cfg.n_ctx
    assert len(body["input_ids"]) > body["n_ctx"]
    assert len(body["tokens"]) == len(bpe.tokenizer.encode(text))


@pytest.mark.parametrize("payload, status, code", [
    ({"model": "no-such-model", "text": "hello"}, 404, "unknown_model"),
    ({"model": BPE_MODEL, "text": ""}, 422, "empty_text"),
    ({"model": WORD_MODEL, "text": "  \n\t "}, 422, "empty_text"),  # a word-level tokenizer skips white space
    ({"model": BPE_MODEL, "text": "x" * (MAX_TEXT_CHARS + 1)}, 422, "invalid_request"),
    ({"model": BPE_MODEL}, 422, "invalid_request"),
    ({"model": BPE_MODEL, "text": 42}, 422, "invalid_request"),
    ({"text": "hello"}, 422, "invalid_request"),
])
def test_bad_input_is_refused_with_the_api_error_shape(client, error_of, payload, status, code):
    err = error_of(client.post("/api/v1/tokenize", json=payload), status)
    assert err["code"] == code


def test_malformed_json_is_400(client, error_of):
    r = client.post("/api/v1/tokenize", content=b'{"model": "tiny-gpt", "text": ', headers={"content-type": "application/json"})
    assert error_of(r, 400)["code"] == "malformed_json"


def test_limits_are_checked_before_any_tokenizing(client, error_of, monkeypatch):
    import app.routers.tokenize as route

    def boom(*_a, **_k):
        raise AssertionError("tokenized a request that should have been refused first")
    monkeypatch.setattr(route, "pieces", boom)
    monkeypatch.setattr(route, "describe", boom)
    for payload in ({"model": BPE_MODEL, "text": "x" * (MAX_TEXT_CHARS + 1)}, {"model": "nope", "text": "hi"},
                    {"model": BPE_MODEL, "text": ""}):
        assert client.post("/api/v1/tokenize", json=payload).status_code in (404, 422)


def test_documented_in_openapi(client):
    spec = client.get("/openapi.json").json()
    op = spec["paths"]["/api/v1/tokenize"]["post"]
    assert {"200", "400", "404", "422"} <= set(op["responses"])
    schemas = spec["components"]["schemas"]
    assert schemas["TokenizeIn"]["properties"]["text"]["maxLength"] == MAX_TEXT_CHARS
    token = schemas["TokenOut"]["properties"]
    assert {"id", "piece", "bytes", "start", "end", "special", "unknown"} <= set(token)
    assert {"kind", "vocab_size", "specials", "byte_level"} <= set(schemas["TokenizerOut"]["properties"])


@pytest.fixture(scope="module")
def hf_client(tmp_path_factory):
    """Hugging Face checkpoints (random weights, tokenizers trained by the converter tests) served through the
    registry, as XRAY_MODELS=hf:<dir> serves them."""
    from tests.model import test_convert_bert, test_convert_llama
    root = tmp_path_factory.mktemp("hf")
    llama, _ = test_convert_llama.checkpoint(root / "tiny-llama", "llama")
    bert, _ = test_convert_bert.checkpoint(root / "tiny-bert")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setenv("HF_HUB_CACHE", str(root / "empty-cache"))
        with TestClient(create_app(Settings(models=(f"hf:{llama}", f"hf:{bert}")))) as c:
            yield c


def test_hugging_face_tokenizers_through_the_api(hf_client):
    from transformers import AutoTokenizer
    models = hf_client.app.state.models
    text = "The harbour [MASK] counted boats"
    bert = tokenize(hf_client, "tiny-bert", text)
    ref = AutoTokenizer.from_pretrained(models.specs["tiny-bert"].ref)  # transformers' own tokenizer of the files
    assert bert["tokenizer"]["kind"] == "wordpiece"
    assert [t["id"] for t in bert["tokens"]] == ref.encode(text, add_special_tokens=False)
    assert bert["input_ids"] == ref.encode(text)  # [CLS] ... [SEP], as transformers adds them
    mask = [t for t in bert["tokens"] if t["special"]]
    assert [(t["piece"], text[t["start"]:t["end"]]) for t in mask] == [("[MASK]", "[MASK]")]
    llama = tokenize(hf_client, "tiny-llama", text)
    ref = AutoTokenizer.from_pretrained(models.specs["tiny-llama"].ref)
    assert llama["tokenizer"]["kind"] == "sentencepiece"
    assert [t["id"] for t in llama["tokens"]] == ref.encode(text, add_special_tokens=False)
