"""POST /api/v1/trace on long inputs (issue 7): layer-by-layer requests resume from the cached residual stream
and return exactly the full trace's values; the payload budget is checked from the shapes before the forward
(and still during capture); `heads` slices every activation with a head dim."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import torch

import app.routers.trace as trace_route
from app.resid_cache import ResidCache
from model.glossary import dims_of
from model.hooks import HookPoint

GPT, TRANSLATOR = "tiny-gpt", "tiny-translator"


class Fired:
    """Names of the model's HookPoints entered while the `with` block is open (any thread; a pre-hook, so the
    hook that stops the forward is listed too)."""

    def __init__(self, model):
        self.model, self.names = model, []

    def __enter__(self):
        self.handles = [m.register_forward_pre_hook(lambda mod, i: self.names.append(mod.name))
                        for m in self.model.modules() if isinstance(m, HookPoint)]
        return self.names

    def __exit__(self, *exc):
        for h in self.handles:
            h.remove()


def post(client, **body):
    return client.post("/api/v1/trace", json={"model": GPT, "precision": 8, **body})


def test_layer_by_layer_resumes_and_equals_the_full_trace(client, loaded, words):
    lm = loaded[GPT]
    text = words(lm, 9, skip=11)  # a text no other test traces, so the cache starts empty for it
    full = post(client, text=text).json()["activations"]
    client.app.state.resid_cache.__init__()  # forget what the full trace cached: start from nothing, as a new client would
    n_layers = lm.cfg.n_layers
    for layer in range(n_layers):
        with Fired(lm.model) as fired:
            r = post(client, text=text, names=[f"blocks.{layer}.*"])
        assert r.status_code == 200, r.text
        got = r.json()["activations"]
        assert list(got) == [n for n in full if n.startswith(f"blocks.{layer}.")]
        for name, a in got.items():
            assert a == full[name], name  # same numbers, same JSON
        ran = {n.split(".")[1] if n.startswith("blocks.") else n for n in fired}
        # layer 0 starts at the embeddings; later layers start from the stream cached when layer - 1 ended
        assert ran == ({"hook_embed", "hook_pos_embed", "0"} if layer == 0 else {str(layer)}), (layer, ran)
    with Fired(lm.model) as fired:  # what follows the last block: only the final norm and the unembedding run
        r = post(client, text=text, names=["hook_logits", "ln_final.*"])
    assert {a == full[n] for n, a in r.json()["activations"].items()} == {True}
    assert not any(n.startswith(("blocks.", "hook_embed")) for n in fired)


def test_resume_from_the_closest_earlier_block(client, loaded, words):
    mid = max((m for m, lm in loaded.items() if not lm.is_encoder_decoder), key=lambda m: loaded[m].cfg.n_layers)
    lm = loaded[mid]
    assert lm.cfg.n_layers >= 4
    text = words(lm, 7, skip=23)

    def trace(names):
        return client.post("/api/v1/trace", json={"model": mid, "text": text, "names": names, "precision": 8})

    full = trace(["blocks.3.attn.hook_pattern"]).json()["activations"]
    client.app.state.resid_cache.__init__()
    with Fired(lm.model) as fired:  # a pattern request finishes its block, caching the stream entering block 1
        first = trace(["blocks.0.attn.hook_pattern"])
    assert first.status_code == 200 and fired[-1] == "blocks.0.hook_resid_post"
    with Fired(lm.model) as fired:  # layer 3: from block 1 (the closest cached), not from the embeddings
        r = trace(["blocks.3.attn.hook_pattern"])
    assert r.json()["activations"] == full
    assert fired[0] == "blocks.1.hook_resid_pre" and fired[-1] == "blocks.3.hook_resid_post"
    other = client.post("/api/v1/trace", json={"model": mid, "text": words(lm, 7, skip=24), "precision": 8,
                                               "names": ["blocks.3.attn.hook_pattern"]}).json()
    assert other["activations"] != full  # another text is another key


def test_translator_is_not_resumed(client, loaded, words):
    lm = loaded[TRANSLATOR]
    src, tgt = words(lm, 4), words(lm, 2, skip=5)
    cache = client.app.state.resid_cache
    before = len(cache)
    for _ in range(2):
        with Fired(lm.model) as fired:
            r = client.post("/api/v1/trace", json={"model": TRANSLATOR, "text": src, "target": tgt,
                                                   "names": ["decoder.1.*"]})
        assert r.status_code == 200 and {"encoder.hook_embed", "decoder.hook_embed"} <= set(fired)
    assert len(cache) == before


def test_concurrent_layer_by_layer_with_evictions(client, loaded, words):
    """8 threads fetch 6-layer traces layer by layer (4 texts, each twice) while a tiny cache keeps evicting:
    every answer equals the full trace's."""
    mid = max((m for m, lm in loaded.items() if not lm.is_encoder_decoder), key=lambda m: loaded[m].cfg.n_layers)
    lm = loaded[mid]
    texts = [words(lm, 5 + i, skip=31 + 5 * i) for i in range(4)]

    def trace(text, names=None):
        body = {"model": mid, "text": text, "precision": 8, **({"names": names} if names else {})}
        r = client.post("/api/v1/trace", json=body)
        assert r.status_code == 200, r.text
        return r.json()["activations"]

    full = {t: trace(t) for t in texts}
    cache = client.app.state.resid_cache
    cache.__init__(max_bytes=5 * (lm.cfg.d_model * 8 * 4))  # ~5 entries of 8 tokens: constant eviction

    def walk(text):
        for layer in range(lm.cfg.n_layers):
            for name, a in trace(text, [f"blocks.{layer}.*"]).items():
                assert a == full[text][name], (text, name)
        return True

    with ThreadPoolExecutor(8) as pool:
        assert all(pool.map(walk, texts * 2))
    assert cache.bytes <= cache.max_bytes and cache.bytes == sum(t.untyped_storage().nbytes()
                                                                 for t in cache._entries.values())
    cache.__init__()


# ---- the residual cache itself ------------------------------------------------------------------------------
def test_resid_cache_lru_by_bytes():
    cache = ResidCache(max_bytes=3 * 400)
    key_a, key_b = ResidCache.key("m", torch.tensor([1, 2])), ResidCache.key("m", torch.tensor([1, 3]))
    assert key_a != key_b != ResidCache.key("m", torch.tensor([1, 3]), "none")
    x = [torch.full((10, 10), float(i)) for i in range(5)]  # 400 bytes each
    cache.put(key_a, 0, x[0])
    cache.put(key_a, 2, x[1])
    assert cache.get(key_a, 1) == (0, x[0]) and cache.get(key_a, 5) == (2, x[1]) and cache.get(key_b, 5) is None
    cache.get(key_a, 0)  # block 0 now the most recently used
    cache.put(key_b, 1, x[2])
    cache.put(key_b, 2, x[3])  # over 1,200 bytes: the least recently used entry (key_a, 2) goes
    assert cache.bytes == 1200 and len(cache) == 3
    assert cache.get(key_a, 5) == (0, x[0]) and cache.get(key_b, 5)[0] == 2
    cache.put(key_b, 2, x[4])  # replacing an entry does not count it twice
    assert cache.bytes == 1200 and cache.get(key_b, 2)[1] is x[4]
    cache.put(key_a, 3, torch.zeros(20, 20))  # 1,600 bytes: over the cap alone, not kept, nothing evicted
    assert len(cache) == 3 and cache.get(key_a, 3)[0] == 0


def test_resid_cache_is_thread_safe():
    cache = ResidCache(max_bytes=50 * 400)
    keys = [ResidCache.key("m", torch.tensor([i])) for i in range(8)]

    def work(i):
        for j in range(300):
            cache.put(keys[(i + j) % 8], j % 13, torch.zeros(10, 10))
            cache.get(keys[j % 8], 12)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert cache.bytes == 400 * len(cache) <= 50 * 400 and len(cache) == 50


# ---- payload budget before the forward ----------------------------------------------------------------------
def test_budget_refused_from_the_shapes_before_the_forward(client, loaded, words, error_of, monkeypatch):
    lm = loaded[GPT]
    text = words(lm, 10)
    n, h = 11, lm.cfg.n_heads  # <bos> + 10 words
    names = ["blocks.1.attn.hook_pattern", "blocks.1.mlp.hook_post"]
    values = h * n * n + n * lm.cfg.d_mlp  # independent of the server's arithmetic: the glossary's dims by hand
    monkeypatch.setattr(trace_route, "MAX_TRACE_VALUES", values - 1)
    with Fired(lm.model) as fired:
        e = error_of(post(client, text=text, names=names), 413)
    assert fired == []  # nothing ran
    assert e["code"] == "trace_too_large" and f"has {values:,} values" in e["message"]
    assert f"{values - 1:,}" in e["message"] and "per layer" in e["message"]
    monkeypatch.setattr(trace_route, "MAX_TRACE_VALUES", values)  # exactly at the budget: served
    assert post(client, text=text, names=names).status_code == 200
    # with one head, the pattern counts one head: n * n + n * d_mlp values
    monkeypatch.setattr(trace_route, "MAX_TRACE_VALUES", n * n + n * lm.cfg.d_mlp)
    r = post(client, text=text, names=names, heads=[1])
    assert r.status_code == 200 and r.json()["activations"][names[0]]["shape"] == [1, n, n]
    error_of(post(client, text=text, names=names, heads=[1, 2]), 413)


@pytest.mark.parametrize("mid", [GPT, TRANSLATOR])
def test_budget_estimate_equals_what_is_returned(client, loaded, words, mid, monkeypatch):
    lm = loaded[mid]
    body = {"model": mid, "text": words(lm, 6), "precision": 2,
            **({"target": words(lm, 3, skip=2)} if lm.is_encoder_decoder else {})}
    estimates = []
    real = trace_route.trace_values
    monkeypatch.setattr(trace_route, "trace_values", lambda *a: estimates.append(real(*a)) or estimates[-1])
    for extra in ({}, {"heads": [0, 2]}):
        out = client.post("/api/v1/trace", json={**body, **extra}).json()
        returned = sum(torch.Size(a["shape"]).numel() for a in out["activations"].values())
        assert estimates[-1] == returned


def test_capture_check_is_still_a_safety_net(client, loaded, words, error_of, monkeypatch):
    monkeypatch.setattr(trace_route, "trace_values", lambda *a: 0)  # a wrong estimate lets the request through...
    monkeypatch.setattr(trace_route, "MAX_TRACE_VALUES", 1000)
    e = error_of(post(client, text=words(loaded[GPT], 5)), 413)  # ...and the capture stops it
    assert e["code"] == "trace_too_large" and "at least" in e["message"]


# ---- heads --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("mid", [GPT, TRANSLATOR])
def test_heads_slice_equals_the_full_trace_slice(client, loaded, words, mid):
    lm = loaded[mid]
    body = {"model": mid, "text": words(lm, 6, skip=3), "precision": 8,
            **({"target": words(lm, 3, skip=4)} if lm.is_encoder_decoder else {})}
    heads = [lm.cfg.n_heads - 1, 0]
    full = client.post("/api/v1/trace", json=body).json()["activations"]
    r = client.post("/api/v1/trace", json={**body, "heads": heads})
    assert r.status_code == 200, r.text
    some = r.json()["activations"]
    assert list(some) == list(full)
    n_sliced = 0
    for name, a in some.items():
        dims = dims_of(name)
        if "head" not in dims:
            assert a == full[name], name
            continue
        n_sliced += 1
        axis = dims.index("head")

        def pick(x, d):  # the full trace's data with the head axis reordered to `heads`
            return [x[h] for h in heads] if d == axis else [pick(v, d + 1) for v in x]
        assert a["shape"] == [len(heads) if i == axis else s for i, s in enumerate(full[name]["shape"])]
        assert a["data"] == pick(full[name]["data"], 0), name
    assert n_sliced >= 9


@pytest.mark.parametrize("heads, code, words_in_message", [
    ([4], "invalid_heads", ["4", "n_heads = 4", "0..3"]),
    ([0, 7, 9], "invalid_heads", ["7, 9", "are not"]),
    ([1, 1], "invalid_heads", ["more than once"]),
    ([-1], "invalid_request", ["heads.0", "greater than or equal to 0"]),
    ([], "invalid_request", ["heads", "at least 1"]),
    (["x"], "invalid_request", ["heads.0"]),
    (3, "invalid_request", ["heads"]),
])
def test_bad_heads(client, error_of, heads, code, words_in_message):
    e = error_of(post(client, text="the cat", names=["blocks.0.attn.hook_pattern"], heads=heads), 422)
    assert e["code"] == code
    for w in words_in_message:
        assert w in e["message"], e["message"]
