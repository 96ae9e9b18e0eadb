"""POST /api/v1/next-token and /api/v1/generate: the distribution is re-derived with transformers' warpers
(tests/hf_reference.py) from the raw logits (which are checked against a direct forward pass); generation is seeded
and greedy decoding (top_k = 1) is re-done step by step with the model itself."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.hf_reference import hf_filter

GPT, TRANSLATOR = "tiny-gpt", "tiny-translator"


def forward_logits(lm, text, target=None):
    src = torch.tensor([lm.encode(text)])
    with torch.inference_mode():
        if lm.is_encoder_decoder:
            return lm.model(src, torch.tensor([lm.encode_target(target or "")]))[0, -1].double().numpy()
        return lm.model(src)[0, -1].double().numpy()


@pytest.mark.parametrize("mid", [GPT, TRANSLATOR])
@pytest.mark.parametrize("temperature,top_k,top_p", [(1.0, None, None), (0.7, 5, None), (1.5, None, 0.8),
                                                     (1.0, 3, 0.5), (0.05, None, 0.999)])
def test_next_token_matches_numpy(client, loaded, words, mid, temperature, top_k, top_p):
    lm = loaded[mid]
    text = words(lm, 4)
    target = words(lm, 2, skip=5) if lm.is_encoder_decoder else None
    body = {"model": mid, "text": text, "temperature": temperature, "top_k": top_k, "top_p": top_p,
            "n_candidates": 8, "full": True, **({"target": target} if target else {})}
    r = client.post("/api/v1/next-token", json=body)
    assert r.status_code == 200, r.text
    out = r.json()
    logits = forward_logits(lm, text, target)
    # the same float32 forward in the request thread and here (same thread count): equal, sent as exact floats
    assert out["logits"] == logits.tolist()
    ref = hf_filter(out["logits"], temperature, top_k, top_p)
    want = ref["probs"]
    # the server's distribution is float64 rounded to float32 when sent (<= 6e-8 relative), from logits shifted by
    # their max (rounding ~1e-16); the cuts and the entropy stay float64
    np.testing.assert_allclose(out["probs"], want, rtol=1e-6, atol=1e-12)
    assert out["cut_by_top_k"] == pytest.approx(ref["cut_by_top_k"], rel=1e-12, abs=1e-15)
    assert out["cut_by_top_p"] == pytest.approx(ref["cut_by_top_p"], rel=1e-12, abs=1e-15)
    assert out["entropy"] == pytest.approx(ref["entropy"], rel=1e-12)
    # candidates: the most probable survivors, in order, never a filtered token
    cands = out["candidates"]
    sent = want.astype(np.float32)  # what the server sends: float32 (a tiny survivor can underflow to 0)
    survivors = np.flatnonzero(sent > 0)
    assert [c["id"] for c in cands] == sorted(survivors, key=lambda i: (-sent[i], i))[:8]
    for c in cands:
        assert c["token"] == lm.tokenizer.vocab[c["id"]]
        assert c["prob"] == pytest.approx(want[c["id"]], rel=1e-6)  # float32, as above
        assert c["logit"] == logits[c["id"]]  # the raw float32 logit
    # exactly transformers' survivors (top-k keeps every tie of the k-th, so there can be more than k)
    assert np.flatnonzero(np.array(out["probs"]) > 0).tolist() == survivors.tolist()
    assert out["temperature"] == temperature and out["top_k"] == top_k and out["top_p"] == top_p


@pytest.mark.parametrize("mid", [GPT, TRANSLATOR])
def test_whole_vocabulary_vectors_only_on_request(client, loaded, words, mid):
    """By default the answer carries the candidates, not the whole vocabulary twice (GPT-2's 50,257 logits and
    probabilities would make every answer ~2 MB); `full` adds them, and nothing else changes."""
    lm = loaded[mid]
    body = {"model": mid, "text": words(lm, 3), "temperature": 0.9, "top_k": 6,
            **({"target": words(lm, 1, skip=4)} if lm.is_encoder_decoder else {})}
    small = client.post("/api/v1/next-token", json=body).json()
    full = client.post("/api/v1/next-token", json={**body, "full": True}).json()
    assert small["probs"] is None and small["logits"] is None
    assert len(full["probs"]) == len(full["logits"]) == lm.cfg.vocab_size
    assert small == {**full, "probs": None, "logits": None}
    assert len(small["candidates"]) == 6  # top-k 6, no ties among these logits


BAD = [({"temperature": 0}, "temperature"), ({"temperature": -1}, "temperature"), ({"top_k": 0}, "top_k"),
       ({"top_k": -3}, "top_k"), ({"top_p": 0}, "top_p"), ({"top_p": 1.01}, "top_p"), ({"top_p": -0.5}, "top_p"),
       ({"temperature": "hot"}, "temperature")]


@pytest.mark.parametrize("route", ["/api/v1/next-token", "/api/v1/generate"])
@pytest.mark.parametrize("bad,field", BAD)
def test_bad_sampling_params(client, error_of, route, bad, field):
    e = error_of(client.post(route, json={"model": GPT, "text": "the", **bad}), 422)
    assert field in e["message"]


@pytest.mark.parametrize("route", ["/api/v1/next-token", "/api/v1/generate"])
@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity"])
def test_non_finite_temperature(client, error_of, route, literal):
    raw = b'{"model": "tiny-gpt", "text": "the", "temperature": ' + literal + b"}"
    e = error_of(client.post(route, content=raw, headers={"content-type": "application/json"}), 422)
    assert "temperature" in e["message"] and "finite" in e["message"]


@pytest.mark.parametrize("route", ["/api/v1/next-token", "/api/v1/generate"])
def test_sampling_routes_refuse_bad_text_and_model(client, loaded, words, error_of, route):
    lm = loaded[GPT]
    assert error_of(client.post(route, json={"model": "nope", "text": "a"}), 404)["code"] == "unknown_model"
    assert error_of(client.post(route, json={"model": GPT, "text": " "}), 422)["code"] == "empty_text"
    e = error_of(client.post(route, json={"model": GPT, "text": words(lm, lm.cfg.n_ctx + 3)}), 422)
    assert e["code"] == "text_too_long" and str(lm.cfg.n_ctx) in e["message"]
    r = client.post(route, content=b"{", headers={"content-type": "application/json"})
    assert error_of(r, 400)["code"] == "malformed_json"


@pytest.mark.parametrize("mid", [GPT, TRANSLATOR])
def test_generate_same_seed_same_output(client, loaded, words, mid):
    lm = loaded[mid]
    body = {"model": mid, "text": words(lm, 3), "max_new_tokens": 8, "temperature": 1.3, "seed": 7}
    a, b = client.post("/api/v1/generate", json=body).json(), client.post("/api/v1/generate", json=body).json()
    assert a == b
    eos = lm.tokenizer.eos_id
    ids = [s["id"] for s in a["steps"]]
    assert len(ids) == 8 or (ids[-1] == eos and eos not in ids[:-1])  # the budget, or stopped at <eos>
    assert a["tokens"] == [s["token"] for s in a["steps"]]
    # every step: the chosen token and the listed candidates come from the model's own distribution at that
    # point, re-derived here from a direct forward on the prefix and transformers' warpers
    src = lm.encode(body["text"])
    seq = [lm.tokenizer.bos_id] if lm.is_encoder_decoder else list(src)
    for s in a["steps"]:
        with torch.inference_mode():
            if lm.is_encoder_decoder:
                logits = lm.model(torch.tensor([src]), torch.tensor([seq]))[0, -1]
            else:
                logits = lm.model(torch.tensor([seq]))[0, -1]
        want = hf_filter(logits.double().numpy(), body["temperature"])["probs"].astype(np.float32)
        assert s["token"] == lm.tokenizer.vocab[s["id"]] and want[s["id"]] > 0
        # float32 probabilities on both sides, from float64 ones that differ by rounding only (~1e-16)
        assert s["prob"] == pytest.approx(float(want[s["id"]]), rel=1e-6)
        top5 = sorted(np.flatnonzero(want > 0), key=lambda i: (-want[i], i))[:5]
        assert [c["id"] for c in s["candidates"]] == top5
        seq.append(s["id"])
    outs = {tuple(client.post("/api/v1/generate", json={**body, "seed": s}).json()["tokens"]) for s in range(6)}
    assert len(outs) > 1  # at temperature 1.3 different seeds do not all give the same text


@pytest.mark.parametrize("mid", [GPT, TRANSLATOR])
def test_generate_greedy_equals_argmax_decoding(client, loaded, words, mid):
    lm = loaded[mid]
    text = words(lm, 3, skip=2)
    out = client.post("/api/v1/generate", json={"model": mid, "text": text, "max_new_tokens": 6, "top_k": 1}).json()
    src = lm.encode(text)
    seq = [lm.tokenizer.bos_id] if lm.is_encoder_decoder else list(src)
    got = []
    with torch.inference_mode():
        while len(got) < 6 and len(seq) < lm.cfg.n_ctx:
            if lm.is_encoder_decoder:
                logits = lm.model(torch.tensor([src]), torch.tensor([seq]))[0, -1]
            else:
                logits = lm.model(torch.tensor([seq]))[0, -1]
            nxt = int(torch.argmax(logits))
            got.append(nxt)
            seq.append(nxt)
            if nxt == lm.tokenizer.eos_id:
                break
    assert [s["id"] for s in out["steps"]] == got
    assert all(s["prob"] == pytest.approx(1.0) for s in out["steps"])
    assert out["prompt_tokens"] == lm.tokenizer.decode(src)


@pytest.mark.parametrize("n", [0, 65, -1])
def test_generate_step_limit(client, error_of, n):
    e = error_of(client.post("/api/v1/generate", json={"model": GPT, "text": "the", "max_new_tokens": n}), 422)
    assert "max_new_tokens" in e["message"]
