"""Every number the architecture pages show comes from the model: checked here through the JSON API against
an independent numpy re-computation from the traced activations and the served weights.

The trace page shows each step of the forward pass side by side, so the steps must compose exactly:
scaled = dot / √d_head, pattern = softmax(scores), z = pattern · v, ... The component pages use the
read-outs of app/routers/readouts.py (logit lens, norms, sparsity, positions, masks), re-derived here.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

GPT, TRANSLATOR, NO_POS = "tiny-gpt", "tiny-translator", "tiny-gpt-no-pos"
# numpy re-computes each step in float64 from served values (activations with 8 significant digits, weights
# with 7), so each input is off by <= 5e-7 relative; sums over d_model / d_mlp terms with cancellation, the
# layer norm's division by a small scale and the softmax's exponent amplify that to ~1e-4 at worst. A wrong step
# (a missing scale, a transposed matrix, the wrong γ) is off by O(0.1) or more.
TOL = dict(rtol=1e-3, atol=2e-4)


@pytest.fixture(scope="module")
def models(loaded):
    """{id: LoadedModel} as the app loaded them (the `client` and `loaded` fixtures are in conftest.py)."""
    return loaded


def sample_text(loaded, n: int = 6) -> str:
    """A sentence the model knows: the first n ordinary words of its vocabulary that are not punctuation."""
    words = [w for w in loaded.tokenizer.vocab[4:] if w.isalpha()]
    return " ".join(words[:n])


def trace(client, model: str, text: str, target: str | None = None, names=None) -> dict:
    body = {"model": model, "text": text, "precision": 8}
    if target is not None:
        body["target"] = target
    if names is not None:
        body["names"] = names
    r = client.post("/api/v1/trace", json=body)
    assert r.status_code == 200, r.text
    return r.json()


def act(tr: dict, name: str) -> np.ndarray:
    a = tr["activations"][name]
    arr = np.array(a["data"], dtype=object)
    arr = np.where(arr == None, -np.inf, arr).astype(np.float64)  # noqa: E711  (null = -inf in the JSON)
    assert list(arr.shape) == a["shape"]
    return arr


def weight(client, model: str, name: str) -> np.ndarray:
    r = client.get(f"/api/v1/models/{model}/weights/{name}")
    assert r.status_code == 200, r.text
    return np.array(r.json()["data"], dtype=np.float64)


def softmax(x: np.ndarray) -> np.ndarray:
    x = x - np.max(x, axis=-1, keepdims=True)
    e = np.exp(x)
    return e / e.sum(-1, keepdims=True)


def layer_norm(x, w, b, eps):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * w + b


def activation(fn: str, x: np.ndarray) -> np.ndarray:
    if fn == "relu":
        return np.maximum(x, 0)
    if fn == "gelu":
        return 0.5 * x * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))
    return x / (1 + np.exp(-x))  # silu


def traced_text(loaded) -> tuple[str, str | None]:
    text = sample_text(loaded)
    return text, (sample_text(loaded, 3) if loaded.is_encoder_decoder else None)


# ---------------------------------------------------------------- trace page: the steps compose
@pytest.mark.parametrize("model_id", [GPT, TRANSLATOR])
def test_trace_steps_compose(client, models, model_id):
    loaded = models[model_id]
    cfg = loaded.cfg
    assert cfg.norm == "pre" and cfg.mlp and cfg.residual  # the shipped models: pre-LN GPT-style blocks
    text, target = traced_text(loaded)
    tr = trace(client, model_id, text, target)
    stacks = ["encoder", "decoder"] if loaded.is_encoder_decoder else ["blocks"]
    W_E = weight(client, model_id, "embed.W_E")
    for stack in stacks:
        toks = tr["target_tokens"] if stack == "decoder" else tr["tokens"]
        ids = [loaded.tokenizer.index[t] for t in toks]
        # token id -> embedding row; + position = resid_pre of block 0
        np.testing.assert_allclose(act(tr, f"{stack}.0.hook_resid_pre"), W_E[ids] + weight(client, model_id, "pos_embed.W_pos")[: len(ids)], **TOL)
        for l in range(cfg.n_layers):
            p = f"{stack}.{l}"
            x = act(tr, f"{p}.hook_resid_pre")
            attn_kinds = [("attn", "ln1", "hook_attn_out", "hook_resid_mid")]
            if stack == "decoder":
                attn_kinds.append(("cross_attn", "ln_cross", "hook_cross_attn_out", "hook_resid_mid_cross"))
            for kind, ln, out_name, resid_name in attn_kinds:
                a = f"{p}.{kind}"
                h = layer_norm(x, weight(client, model_id, f"{p}.{ln}.w"), weight(client, model_id, f"{p}.{ln}.b"),
                               cfg.ln_eps)
                np.testing.assert_allclose(act(tr, f"{p}.{ln}.hook_out"), h, **TOL)
                q, k, v = act(tr, f"{a}.hook_q"), act(tr, f"{a}.hook_k"), act(tr, f"{a}.hook_v")
                W_Q, b_Q = weight(client, model_id, f"{a}.W_Q"), weight(client, model_id, f"{a}.b_Q")
                np.testing.assert_allclose(q, np.einsum("pd,hde->phe", h, W_Q) + b_Q, **TOL)
                dot = act(tr, f"{a}.hook_dot")
                np.testing.assert_allclose(dot, np.einsum("qhe,khe->hqk", q, k), **TOL)
                scaled = act(tr, f"{a}.hook_scaled")
                np.testing.assert_allclose(scaled, dot / math.sqrt(cfg.d_head), **TOL)
                scores = act(tr, f"{a}.hook_attn_scores")
                hidden = np.isneginf(scores)
                n = scores.shape[-1]
                if kind == "attn" and stack != "encoder" and cfg.self_attn_mask == "causal":
                    assert (hidden == ~np.tril(np.ones((n, n), bool))[None]).all()
                else:  # encoder self-attention and cross-attention: only padding is hidden (none in this text)
                    assert not hidden.any()
                np.testing.assert_allclose(scores[~hidden], scaled[~hidden], **TOL)
                pattern = act(tr, f"{a}.hook_pattern")
                np.testing.assert_allclose(pattern, softmax(scores), **TOL)
                z = act(tr, f"{a}.hook_z")
                np.testing.assert_allclose(z, np.einsum("hqk,khe->qhe", pattern, v), **TOL)
                result = act(tr, f"{a}.hook_result")
                np.testing.assert_allclose(result, np.einsum("qhe,hed->qhd", z, weight(client, model_id, f"{a}.W_O")),
                                           **TOL)
                out = act(tr, f"{p}.{out_name}")
                np.testing.assert_allclose(out, result.sum(1) + weight(client, model_id, f"{a}.b_O"), **TOL)
                x = act(tr, f"{p}.{resid_name}")
                np.testing.assert_allclose(x, act(tr, f"{p}.hook_resid_pre" if kind == "attn"
                                                  else f"{p}.hook_resid_mid") + out, **TOL)
            h = act(tr, f"{p}.ln2.hook_out")
            pre = act(tr, f"{p}.mlp.hook_pre")
            np.testing.assert_allclose(pre, h @ weight(client, model_id, f"{p}.mlp.W_in")
                                       + weight(client, model_id, f"{p}.mlp.b_in"), **TOL)
            post = act(tr, f"{p}.mlp.hook_post")
            np.testing.assert_allclose(post, activation(cfg.act_fn, pre), **TOL)
            mlp_out = act(tr, f"{p}.hook_mlp_out")
            np.testing.assert_allclose(mlp_out, post @ weight(client, model_id, f"{p}.mlp.W_out")
                                       + weight(client, model_id, f"{p}.mlp.b_out"), **TOL)
            np.testing.assert_allclose(act(tr, f"{p}.hook_resid_post"), x + mlp_out, **TOL)
    last = f"{stacks[-1]}.{cfg.n_layers - 1}.hook_resid_post"
    pre = "decoder." if loaded.is_encoder_decoder else ""
    final = layer_norm(act(tr, last), weight(client, model_id, f"{pre}ln_final.w"),
                       weight(client, model_id, f"{pre}ln_final.b"), cfg.ln_eps)
    np.testing.assert_allclose(act(tr, f"{pre}ln_final.hook_out"), final, **TOL)
    logits = final @ weight(client, model_id, "unembed.W_U") + weight(client, model_id, "unembed.b_U")
    # logits are sums over d_model of products of the (rounded) final norm output and W_U: absolute error ~1e-4
    np.testing.assert_allclose(act(tr, "hook_logits"), logits, rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(act(tr, "hook_probs"), softmax(logits), atol=1e-4)


# ---------------------------------------------------------------- logit lens
@pytest.mark.parametrize("model_id", [GPT, TRANSLATOR])
def test_logit_lens_is_final_norm_and_unembed_of_each_residual(client, models, model_id):
    loaded = models[model_id]
    text, target = traced_text(loaded)
    body = {"model": model_id, "text": text, "k": 3} | ({"target": target} if target is not None else {})
    lens = client.post("/api/v1/logit-lens", json=body).json()
    tr = trace(client, model_id, text, target)
    pre = "decoder." if loaded.is_encoder_decoder else ""
    w, b = weight(client, model_id, pre + "ln_final.w"), weight(client, model_id, pre + "ln_final.b")
    W_U, b_U = weight(client, model_id, "unembed.W_U"), weight(client, model_id, "unembed.b_U")
    assert lens["tokens"] == (tr["target_tokens"] if loaded.is_encoder_decoder else tr["tokens"])
    assert len(lens["rows"]) == loaded.cfg.n_layers + 1
    for row in lens["rows"]:
        probs = softmax(layer_norm(act(tr, row["point"]), w, b, loaded.cfg.ln_eps) @ W_U + b_U)
        for pos, cell in enumerate(row["top"]):
            best = np.argsort(-probs[pos])[:3]
            assert [c["id"] for c in cell] == best.tolist()
            # probabilities from re-computed logits (error ~1e-4 in the exponent, see TOL) differ by ~1e-4 * p
            np.testing.assert_allclose([c["prob"] for c in cell], probs[pos][best], atol=1e-4)
            assert [c["token"] for c in cell] == [loaded.tokenizer.vocab[i] for i in best]
    # the last row is what the model really outputs
    model_probs = act(tr, "hook_probs")
    assert [cell[0]["id"] for cell in lens["rows"][-1]["top"]] == model_probs.argmax(-1).tolist()


# ---------------------------------------------------------------- residual stream, FFN
@pytest.mark.parametrize("model_id", [GPT, TRANSLATOR])
def test_residual_norms_are_norms_of_the_traced_stream(client, models, model_id):
    loaded = models[model_id]
    text, target = traced_text(loaded)
    body = {"model": model_id, "text": text} | ({"target": target} if target is not None else {})
    out = client.post("/api/v1/residual-norms", json=body).json()
    tr = trace(client, model_id, text, target)
    assert [s["stack"] for s in out["stacks"]] == (["encoder", "decoder"] if loaded.is_encoder_decoder else ["blocks"])
    for s in out["stacks"]:
        for row in s["layers"]:
            for leaf, values in row.items():
                if leaf == "layer" or values is None:
                    continue
                expected = np.linalg.norm(act(tr, f"{s['stack']}.{row['layer']}.{leaf}"), axis=-1)
                # the server's float32 norm vs numpy's float64 norm of the 8-digit values: float32 rounding of a sum of d_model squares
                np.testing.assert_allclose(values, expected, rtol=1e-4)
        assert ("hook_cross_attn_out" in s["layers"][0] and s["layers"][0]["hook_cross_attn_out"] is not None) == (
            s["stack"] == "decoder")


def test_ffn_sparsity_counts_near_zero_units(client, models):
    loaded = models[GPT]
    text = sample_text(loaded)
    out = client.post("/api/v1/ffn-stats", json={"model": GPT, "text": text, "threshold": 0.05}).json()
    tr = trace(client, GPT, text)
    for layer in out["stacks"][0]["layers"]:
        near = np.abs(act(tr, layer["name"])) < 0.05
        # fractions of the same counts (a unit whose |value| lies within rounding of the threshold could flip, none does
        # here); default rtol 1e-7 covers float32 vs float64 division
        np.testing.assert_allclose(layer["per_token"], near.mean(-1))
        assert layer["overall"] == pytest.approx(near.mean())


@pytest.mark.parametrize("model_id", [GPT, TRANSLATOR])
def test_activation_curve_is_the_models_nonlinearity(client, models, model_id):
    out = client.get(f"/api/v1/models/{model_id}/activation-fn?lo=-3&hi=3&n=61").json()
    x = np.array(out["x"])
    assert x[0] == -3 and x[-1] == 3 and len(x) == 61
    # torch's float32 activation vs numpy's float64 formula: float32 rounding of values <= 3
    np.testing.assert_allclose(out["y"], activation(models[model_id].cfg.act_fn, x), atol=1e-5)


# ---------------------------------------------------------------- positions and the shuffle check
@pytest.mark.parametrize("model_id", [GPT, TRANSLATOR])
def test_position_table_and_similarity(client, models, model_id):
    cfg = models[model_id].cfg
    out = client.get(f"/api/v1/models/{model_id}/positions?n=12").json()
    table = np.array(out["table"])
    assert out["kind"] == cfg.pos_embed and table.shape == (12, cfg.d_model)
    if cfg.pos_embed == "sinusoidal":
        pos, i = np.arange(12)[:, None], np.arange(0, cfg.d_model, 2)[None]
        angle = pos / 10000 ** (i / cfg.d_model)
        # the table is float32 (sin / cos of float32 angles up to 11 rad): ~1e-6 absolute; the served copy has 6 digits
        np.testing.assert_allclose(table[:, 0::2], np.sin(angle), atol=1e-5)
        np.testing.assert_allclose(table[:, 1::2], np.cos(angle), atol=1e-5)
    else:
        np.testing.assert_allclose(table, weight(client, model_id, "pos_embed.W_pos")[:12], atol=1e-5)
    unit = table / np.linalg.norm(table, axis=-1, keepdims=True)
    # cosines of float32 rows vs float64 ones from the 6-digit table: ~1e-6
    np.testing.assert_allclose(out["similarity"], unit @ unit.T, atol=1e-5)


def test_shuffling_words_changes_nothing_without_positions_or_mask(client, models):
    text = sample_text(models[NO_POS], 6)
    unmasked = client.post("/api/v1/shuffle", json={"model": NO_POS, "text": text, "mask": "none"}).json()
    assert unmasked["shuffled_tokens"] != unmasked["tokens"]
    assert sorted(unmasked["shuffled_tokens"]) == sorted(unmasked["tokens"])
    assert unmasked["max_abs_diff"] < 1e-5
    with_positions = client.post("/api/v1/shuffle", json={"model": GPT, "text": text}).json()
    assert with_positions["mask"] == "causal" and with_positions["max_abs_diff"] > 1e-3
    # the prediction shown is the model's own next-word distribution at the last position
    probs = act(trace(client, GPT, text, names=["hook_probs"]), "hook_probs")[-1]
    best = np.argsort(-probs)[:5]
    assert [c["id"] for c in with_positions["top"]] == best.tolist()
    # the same forward on both sides; the trace sends hook_probs with 8 significant digits, /shuffle float32 probabilities
    np.testing.assert_allclose([c["prob"] for c in with_positions["top"]], probs[best], atol=1e-5)


# ---------------------------------------------------------------- masking
@pytest.mark.parametrize("mask", ["causal", "padding", "none"])
def test_masked_attention_matches_mask_and_softmax(client, models, mask):
    loaded = models[GPT]
    text = sample_text(loaded, 4) + " <pad> <pad>"
    out = client.post("/api/v1/masked-attention", json={"model": GPT, "text": text, "mask": mask, "layer": 1}).json()
    allowed = np.array(out["allowed"])
    n = len(out["tokens"])
    assert out["tokens"][-2:] == ["<pad>", "<pad>"]
    expected = {"causal": np.tril(np.ones((n, n), bool)),
                "padding": np.broadcast_to(np.array([t != "<pad>" for t in out["tokens"]])[None], (n, n)),
                "none": np.ones((n, n), bool)}[mask]
    assert (allowed == expected).all()
    scores = np.array(out["attn_scores"], dtype=object)
    hidden = scores == None  # noqa: E711
    assert (hidden == ~allowed[None]).all()
    pattern = np.array(out["pattern"])
    # the softmax of scores that were sent with 6 significant digits: an error of 5e-6 relative in a score of up to
    # ~4 moves a weight by ~2e-5 at most
    np.testing.assert_allclose(pattern, softmax(np.where(hidden, -np.inf, scores).astype(float)), atol=2e-5)
    assert (pattern[:, ~allowed] == 0).all()
    if mask == loaded.cfg.self_attn_mask:  # the model's own mask gives exactly the traced pattern
        # the same float32 pattern, sent with 6 digits by /masked-attention and 8 by /trace: <= 5e-6 apart
        np.testing.assert_allclose(pattern, act(trace(client, GPT, text), "blocks.1.attn.hook_pattern"), atol=1e-5)


def test_inspect_errors_are_clear_4xx(client):
    r = client.post("/api/v1/logit-lens", json={"model": "nope", "text": "a"})
    assert r.status_code == 404 and "unknown model" in r.json()["error"]["message"]
    r = client.post("/api/v1/residual-norms", json={"model": GPT, "text": "   "})
    assert r.status_code == 422 and r.json()["error"]["code"] == "empty_text"
    r = client.get(f"/api/v1/models/{GPT}/weights/blocks.99.ln1.w")
    assert r.status_code == 404 and "weights" in r.json()["error"]["message"]
    r = client.post("/api/v1/masked-attention", json={"model": GPT, "text": "a b", "mask": "causal", "layer": 99})
    assert r.status_code == 422 and "layer must be" in r.json()["error"]["message"]
    r = client.post("/api/v1/shuffle", json={"model": GPT, "text": "a"})
    assert r.status_code == 422 and "three words" in r.json()["error"]["message"]
    n_ctx = client.app.state.models[GPT].cfg.n_ctx
    r = client.post("/api/v1/logit-lens", json={"model": GPT, "text": "the " * (n_ctx + 1)})
    assert r.status_code == 422 and str(n_ctx) in r.json()["error"]["message"]
