"""POST /api/v1/trace: values equal an independent run_with_cache, shapes follow the glossary dims, -inf is
null, names select by glob, every bad input is a 4xx in the error shape, and concurrent requests each get
their own activations."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch

from model.glossary import dims_of
from model.transformer import run_with_cache

GPT, TRANSLATOR = "tiny-gpt", "tiny-translator"


def arr(a: dict) -> np.ndarray:
    x = np.array(a["data"], dtype=object)
    x = np.where(x == None, -np.inf, x).astype(np.float64)  # noqa: E711
    assert list(x.shape) == a["shape"]
    return x


def reference(lm, text, target=None, names=None):
    src = torch.tensor(lm.encode(text))
    tgt = torch.tensor(lm.encode_target(target or "")) if lm.is_encoder_decoder else None
    with torch.inference_mode():
        return run_with_cache(lm.model, src, tgt, names=names)[1]


def dim_sizes(lm, n_src, n_tgt, name):
    cfg = lm.cfg
    pos = n_tgt if (name.startswith("decoder") or name in ("hook_logits", "hook_probs") and lm.is_encoder_decoder) \
        else n_src
    key = n_src if ".cross_attn." in name else pos
    return {"pos": pos, "query_pos": pos, "key_pos": key, "d_model": cfg.d_model, "head": cfg.n_heads,
            "d_head": cfg.d_head, "d_mlp": cfg.d_mlp, "d_vocab": cfg.vocab_size}


@pytest.mark.parametrize("mid", [GPT, TRANSLATOR])
def test_full_trace_matches_reference(client, loaded, words, mid):
    lm = loaded[mid]
    text, target = words(lm, 6), (words(lm, 3, skip=7) if lm.is_encoder_decoder else None)
    body = {"model": mid, "text": text, "precision": 8, **({"target": target} if target else {})}
    r = client.post("/api/v1/trace", json=body)
    assert r.status_code == 200, r.text
    out = r.json()
    ref = reference(lm, text, target)
    assert list(out["activations"]) == list(ref)  # in the order the forward pass reached them
    assert sorted(ref) == sorted(lm.model.hook_names)  # all of them
    assert out["tokens"] == lm.tokenizer.decode(lm.encode(text))
    n_src, n_tgt = len(out["tokens"]), len(out.get("target_tokens") or [])
    if lm.is_encoder_decoder:
        assert out["target_tokens"] == lm.tokenizer.decode(lm.encode_target(target))
    else:
        assert "target_tokens" not in out
    for name, a in out["activations"].items():
        assert a["dims"] == dims_of(name)
        sizes = dim_sizes(lm, n_src, n_tgt, name)
        assert a["shape"] == [sizes[d] for d in a["dims"]], name
        # The server and this test run the same float32 forward with the same torch thread count (model/threads.py),
        # so the only difference is the server's rounding to 8 significant digits: at most 5e-8 relative.
        np.testing.assert_allclose(arr(a), ref[name].double().numpy(), rtol=1e-7, atol=0, err_msg=name)


def test_masked_scores_are_null_and_pattern_rows_sum_to_one(client, loaded, words):
    lm = loaded[GPT]
    r = client.post("/api/v1/trace", json={"model": GPT, "text": words(lm, 5),
                                           "names": ["blocks.0.attn.hook_attn_scores", "blocks.0.attn.hook_pattern"]})
    acts = r.json()["activations"]
    scores = acts["blocks.0.attn.hook_attn_scores"]["data"]
    n = len(scores[0])
    for head in scores:  # causal: key > query is hidden (null); everything else is a number
        for q in range(n):
            assert all(v is None for v in head[q][q + 1:])
            assert all(isinstance(v, float) for v in head[q][: q + 1])
    # each weight is sent with 5 significant digits (error <= 5e-6 of a weight <= 1); a row has at most 6 of them
    np.testing.assert_allclose(arr(acts["blocks.0.attn.hook_pattern"]).sum(-1), 1.0, atol=1e-4)


def test_names_globs_and_precision(client, loaded, words):
    lm = loaded[GPT]
    text = words(lm, 4)
    r = client.post("/api/v1/trace", json={"model": GPT, "text": text, "names": ["blocks.*.hook_resid_post", "hook_embed"],
                                           "precision": 3})
    acts = r.json()["activations"]
    expected = [n for n in lm.model.hook_names if n == "hook_embed" or (n.startswith("blocks.")
                                                                          and n.endswith(".hook_resid_post"))]
    assert sorted(acts) == sorted(expected)
    ref = reference(lm, text, names=expected)
    for name, a in acts.items():
        x, want = arr(a), ref[name].double().numpy()
        for got, exact in zip(x.ravel(), want.ravel()):  # 3 significant digits
            # same float32 value on both sides (same thread count); the server rounds with x * 10^k / 10^k in float64,
            # Python's format rounds in decimal: they agree up to float64 representation (~1e-16 relative)
            assert got == pytest.approx(float(f"{exact:.3g}"), rel=1e-9, abs=1e-12)


def test_translator_cross_attention_shapes(client, loaded, words):
    lm = loaded[TRANSLATOR]
    src, tgt = words(lm, 5), words(lm, 2, skip=3)
    r = client.post("/api/v1/trace", json={"model": TRANSLATOR, "text": src, "target": tgt,
                                           "names": ["decoder.0.cross_attn.hook_pattern"]})
    out = r.json()
    a = out["activations"]["decoder.0.cross_attn.hook_pattern"]
    assert a["shape"] == [lm.cfg.n_heads, len(out["target_tokens"]), len(out["tokens"])]
    assert out["tokens"][-1] == "<eos>" and out["target_tokens"][0] == "<bos>"


def test_unknown_words_are_explicit_unk(client):
    r = client.post("/api/v1/trace", json={"model": GPT, "text": "zzqx", "names": ["hook_embed"]})
    assert r.json()["tokens"] == ["<bos>", "<unk>"]


# ---- errors ---------------------------------------------------------------------------------------------------
def test_unknown_model(client, error_of):
    e = error_of(client.post("/api/v1/trace", json={"model": "gpt-5", "text": "the"}), 404)
    assert e["code"] == "unknown_model" and GPT in e["message"]


def test_unknown_name_suggests(client, loaded, error_of):
    e = error_of(client.post("/api/v1/trace", json={"model": GPT, "text": "the", "names": ["blocks.0.attn.hook_patern"]}),
                 422)
    assert e["code"] == "unknown_activation" and "blocks.0.attn.hook_pattern" in e["message"]
    e = error_of(client.post("/api/v1/trace", json={"model": GPT, "text": "the", "names": ["nothing.*"]}), 422)
    assert e["code"] == "unknown_activation" and "nothing.*" in e["message"]


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_empty_text(client, error_of, text):
    assert error_of(client.post("/api/v1/trace", json={"model": GPT, "text": text}), 422)["code"] == "empty_text"


def test_text_past_context_states_limit(client, loaded, words, error_of):
    lm = loaded[GPT]
    n_ctx = lm.cfg.n_ctx
    e = error_of(client.post("/api/v1/trace", json={"model": GPT, "text": words(lm, n_ctx)}), 422)  # + <bos>
    assert e["code"] == "text_too_long" and str(n_ctx) in e["message"]
    ok = client.post("/api/v1/trace", json={"model": GPT, "text": words(lm, n_ctx - 1), "names": ["hook_embed"]})
    assert ok.status_code == 200 and len(ok.json()["tokens"]) == n_ctx
    tr = loaded[TRANSLATOR]
    e = error_of(client.post("/api/v1/trace", json={"model": TRANSLATOR, "text": "a", "target": words(tr, tr.cfg.n_ctx)}),
                 422)
    assert e["code"] == "text_too_long" and str(tr.cfg.n_ctx) in e["message"]


def test_limits_chars_and_names(client, error_of):
    e = error_of(client.post("/api/v1/trace", json={"model": GPT, "text": "a " * 1001}), 422)
    assert "2000" in e["message"]
    e = error_of(client.post("/api/v1/trace", json={"model": GPT, "text": "a", "names": ["hook_embed"] * 65}), 422)
    assert "names" in e["message"] and "64" in e["message"]


def test_target_refused_for_decoder_only(client, error_of):
    e = error_of(client.post("/api/v1/trace", json={"model": GPT, "text": "the", "target": "the"}), 422)
    assert e["code"] == "target_not_supported"


@pytest.mark.parametrize("raw", [b"{bad json", b"", b"[1, 2", b'{"model": "tiny-gpt", "text": "a",}'])
def test_malformed_json(client, error_of, raw):
    r = client.post("/api/v1/trace", content=raw, headers={"content-type": "application/json"})
    if raw:  # not JSON at all
        assert error_of(r, 400)["code"] == "malformed_json"
    else:  # an empty body: valid nothing, so the body is missing
        e = error_of(r, 422)
        assert e["code"] == "invalid_request" and "required" in e["message"]


@pytest.mark.parametrize("body", [{"model": GPT}, {"text": "a"}, {"model": GPT, "text": 3}, [1, 2], "text",
                                  {"model": GPT, "text": "a", "precision": 0}, {"model": GPT, "text": "a", "names": "x"}])
def test_validation_errors_reformatted(client, error_of, body):
    e = error_of(client.post("/api/v1/trace", json=body), 422)
    assert e["code"] == "invalid_request"


def test_payload_budget_413(client, monkeypatch, error_of):
    import app.routers.trace as trace_route
    monkeypatch.setattr(trace_route, "MAX_TRACE_VALUES", 1000)
    e = error_of(client.post("/api/v1/trace", json={"model": GPT, "text": "a b c"}), 413)
    assert e["code"] == "trace_too_large" and "per layer" in e["message"]


# ---- concurrency ----------------------------------------------------------------------------------------------
def test_concurrent_traces_each_get_their_own(client, loaded, words):
    lm = loaded[GPT]
    texts = [words(lm, 3 + i, skip=i * 3) for i in range(8)]
    names = ["blocks.*.attn.hook_pattern", "blocks.*.hook_resid_post", "hook_logits"]
    single = [client.post("/api/v1/trace", json={"model": GPT, "text": t, "names": names, "precision": 8}).json()
              for t in texts]
    assert len({len(s["tokens"]) for s in single}) == 8  # different inputs, different shapes

    def post(t):
        return client.post("/api/v1/trace", json={"model": GPT, "text": t, "names": names, "precision": 8}).json()

    for _ in range(2):
        with ThreadPoolExecutor(8) as pool:
            together = list(pool.map(post, texts * 2))
        for i, out in enumerate(together):  # exact: the same forward with the same thread count in every thread
            assert out == single[i % 8]


def test_overlong_glob_refused(client, error_of):
    e = error_of(client.post("/api/v1/trace", json={"model": GPT, "text": "a", "names": ["*" * 201]}), 422)
    assert "names.0" in e["message"] and "200" in e["message"]
