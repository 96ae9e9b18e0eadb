"""POST /api/v1/masked-token on a BERT checkpoint built here (random weights, WordPiece tokenizer, saved with
save_pretrained and served through XRAY_MODELS=hf:<dir>, as a user serves one): the distribution under [MASK]
equals transformers' BertForMaskedLM (eager) softmax, and its fill-mask pipeline; the filters equal transformers'
warpers; `full` is opt-in; every refusal says what to do."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from tests.model import test_convert_bert

transformers = pytest.importorskip("transformers")  # the test extra installs it; never skipped there
from tests.hf_reference import hf_filter  # noqa: E402  (imports transformers)

BERT = "tiny-bert"
TEXTS = ["the harbour [MASK] lit up", "a [MASK] stood still in the [MASK] river",
         "[MASK] maps are wrong about the rivers but right about the hills"]


@pytest.fixture(scope="module")
def bert(tmp_path_factory):
    """(client, transformers' BertForMaskedLM, its tokenizer) for one random-init checkpoint."""
    path, ref = test_convert_bert.checkpoint(tmp_path_factory.mktemp("mlm") / BERT)
    tok = transformers.AutoTokenizer.from_pretrained(path)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HUB_OFFLINE", "1")
        with TestClient(create_app(Settings(models=("tiny-gpt", "tiny-translator", f"hf:{path}")))) as c:
            yield c, ref, tok


def reference(ref, tok, text: str) -> tuple[torch.Tensor, list[int]]:
    """transformers' logits [pos, vocab] for the text as its own tokenizer encodes it, and its mask positions."""
    enc = tok(text, return_tensors="pt")
    with torch.inference_mode():
        logits = ref(**enc).logits[0]
    return logits, torch.nonzero(enc["input_ids"][0] == tok.mask_token_id).flatten().tolist()


def ask(client, text, **kw):
    r = client.post("/api/v1/masked-token", json={"model": BERT, "text": text, **kw})
    assert r.status_code == 200, r.text
    return r.json()


@pytest.mark.parametrize("text", TEXTS)
def test_probabilities_equal_transformers_softmax(bert, text):
    client, ref, tok = bert
    logits, masks = reference(ref, tok, text)
    first = ask(client, text, full=True, n_candidates=50)
    assert first["mask_positions"] == masks and first["position"] == masks[0]  # omitted position: the first mask
    assert len(first["tokens"]) == logits.shape[0] and first["tokens"][0] == "[CLS]"
    assert all(first["tokens"][p] == "[MASK]" for p in masks)
    for pos in masks:
        out = ask(client, text, position=pos, full=True, n_candidates=50)
        assert out["position"] == pos
        want = torch.softmax(logits[pos].double(), -1).numpy()
        # the same float32 network with its sums in another order: logits differ by rounding (<= 1e-5 seen; the
        # converter tests bound them by 1e-4). A change of d in every logit moves p_i by at most 2 d p_i, under
        # 6e-6 here (p <= 0.3); the answer is float32 (6e-8 relative). 1e-5 holds with a margin of ~20 (5e-7 seen)
        np.testing.assert_allclose(out["logits"], logits[pos].numpy(), rtol=0, atol=1e-4)
        np.testing.assert_allclose(out["probs"], want, rtol=0, atol=1e-5)
        assert out["entropy"] == pytest.approx(float(-(want * np.log(want)).sum()), abs=1e-5)
        # candidates: transformers' most probable tokens, in order (no ties among random logits)
        assert [c["id"] for c in out["candidates"]] == np.argsort(-want, kind="stable")[:50].tolist()
        for c in out["candidates"]:
            assert c["prob"] == pytest.approx(want[c["id"]], abs=1e-5)
            assert c["token"] == client.app.state.models[BERT].tokenizer.vocab[c["id"]]


def test_equals_the_fill_mask_pipeline(bert):
    """transformers' own end-to-end answer: pipeline("fill-mask") finds the mask, runs the model, softmaxes."""
    client, ref, tok = bert
    fill = transformers.pipeline("fill-mask", model=ref, tokenizer=tok, top_k=8, device="cpu")
    text = TEXTS[0]
    out = ask(client, text, n_candidates=8)
    got = fill(text)
    assert [c["id"] for c in out["candidates"]] == [g["token"] for g in got]
    np.testing.assert_allclose([c["prob"] for c in out["candidates"]], [g["score"] for g in got], rtol=0, atol=1e-5)


@pytest.mark.parametrize("temperature,top_k,top_p", [(0.7, 5, None), (1.5, None, 0.8), (1.0, 3, 0.5),
                                                     (0.3, 20, 0.9), (2.0, None, None)])
def test_filters_equal_transformers_warpers(bert, temperature, top_k, top_p):
    client, ref, tok = bert
    text = TEXTS[1]
    pos = reference(ref, tok, text)[1][1]
    body = {"position": pos, "temperature": temperature, "top_k": top_k, "top_p": top_p, "n_candidates": 50}
    out = ask(client, text, full=True, **body)
    # the warpers on the logits the server sent (exact floats): the filter alone, as in test_api_sampling.py
    want = hf_filter(out["logits"], temperature, top_k, top_p)
    np.testing.assert_allclose(out["probs"], want["probs"], rtol=1e-6, atol=1e-12)  # float64 sent as float32
    assert out["cut_by_top_k"] == pytest.approx(want["cut_by_top_k"], rel=1e-12, abs=1e-15)
    assert out["cut_by_top_p"] == pytest.approx(want["cut_by_top_p"], rel=1e-12, abs=1e-15)
    assert out["entropy"] == pytest.approx(want["entropy"], rel=1e-12)
    sent = np.asarray(out["probs"])
    assert [c["id"] for c in out["candidates"]] == sorted(np.flatnonzero(sent > 0), key=lambda i: (-sent[i], i))[:50]
    # and on transformers' own logits: the same survivors, the same probabilities within the tolerance above
    ref_view = hf_filter(reference(ref, tok, text)[0][pos].double().numpy(), temperature, top_k, top_p)
    assert np.flatnonzero(sent > 0).tolist() == np.flatnonzero(ref_view["probs"] > 0).tolist()
    # logits within d = 1e-5 (above) are scores within d / T: each probability within 2 d / T
    np.testing.assert_allclose(out["probs"], ref_view["probs"], rtol=0, atol=2e-5 / temperature)
    if top_k is not None or top_p is not None:
        assert (sent == 0).any(), "the filters removed nothing on this input: pick another one"


def test_full_vectors_are_opt_in(bert):
    client, _, _ = bert
    small = client.post("/api/v1/masked-token", json={"model": BERT, "text": TEXTS[0], "top_k": 4})
    full = ask(client, TEXTS[0], top_k=4, full=True)
    assert small.json()["probs"] is None and small.json()["logits"] is None
    assert len(full["probs"]) == len(full["logits"]) == client.app.state.models[BERT].cfg.vocab_size
    same = {k: v for k, v in full.items() if k not in ("probs", "logits")}
    assert {k: v for k, v in small.json().items() if k not in ("probs", "logits")} == same
    assert len(small.content) < 2000


def test_refusals_say_what_to_do(bert, error_of):
    client, _, _ = bert
    post = lambda **b: client.post("/api/v1/masked-token", json={"model": BERT, "text": TEXTS[1], **b})  # noqa: E731
    e = error_of(client.post("/api/v1/masked-token", json={"model": "tiny-gpt", "text": "the cat [MASK]"}), 422)
    assert e["code"] == "not_masked_lm" and "decoder-only" in e["message"] and "/api/v1/next-token" in e["message"]
    e = error_of(client.post("/api/v1/masked-token", json={"model": "tiny-translator", "text": "the cat"}), 422)
    assert e["code"] == "not_masked_lm" and "encoder-decoder" in e["message"]
    e = error_of(post(text="the harbour lit up"), 422)
    assert e["code"] == "no_mask" and "[MASK]" in e["message"]
    e = error_of(post(text="the harbour [mask] lit up"), 422)  # not the mask token: it must be written as such
    assert e["code"] == "no_mask"
    e = error_of(post(position=40), 422)
    assert e["code"] == "invalid_position" and "10 tokens" in e["message"] and "2, 7" in e["message"]
    e = error_of(post(position=1), 422)
    assert e["code"] == "invalid_position" and "' a'" in e["message"] and "2, 7" in e["message"]
    e = error_of(post(position=-1), 422)
    assert e["code"] == "invalid_request" and "position" in e["message"]
    assert error_of(post(text="  "), 422)["code"] == "empty_text"
    assert error_of(post(temperature=0), 422)["code"] == "invalid_request"
    assert error_of(post(top_p=1.5), 422)["code"] == "invalid_request"
    assert error_of(post(model="nope"), 404)["code"] == "unknown_model"
    e = error_of(post(text="[MASK] " * 70), 422)
    assert e["code"] == "text_too_long" and "64" in e["message"]  # the checkpoint's max_position_embeddings


@pytest.mark.parametrize("route", ["/api/v1/next-token", "/api/v1/generate"])
def test_decoder_routes_point_bert_to_masked_token(bert, error_of, route):
    client, _, _ = bert
    e = error_of(client.post(route, json={"model": BERT, "text": TEXTS[0]}), 422)
    assert e["code"] == "encoder_only" and "/api/v1/masked-token" in e["message"] and "[MASK]" in e["message"]
