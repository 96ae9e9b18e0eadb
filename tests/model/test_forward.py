"""Whole-model invariants: masking, normalised patterns, hooks change nothing, capture is per call."""
import threading

import pytest
import torch

from model import threads as threads_
from model.config import ModelConfig
from model.glossary import activation_names, dims_of
from model.transformer import run_with_cache

CFG = ModelConfig(vocab_size=30, d_model=32, n_heads=4, n_layers=2, d_mlp=64, n_ctx=16)
ENC_DEC = CFG.replace(arch="encoder_decoder")


def test_changing_a_later_token_never_changes_earlier_positions(make_model):
    model = make_model(CFG)
    a = torch.tensor([2, 5, 6, 7, 8, 9, 10])
    b = a.clone()
    b[4] = 20
    la, ca = run_with_cache(model, a)
    lb, cb = run_with_cache(model, b)
    # exact by construction: the same shapes run the same kernels, every row is computed from its own values, and
    # masked keys contribute exact zeros (exp(-inf) = 0, 0 * v = 0)
    torch.testing.assert_close(la[:4], lb[:4], rtol=0, atol=0)
    assert not torch.allclose(la[4:], lb[4:])
    for name, act in ca.items():
        if dims_of(name)[0] in ("pos", "key_pos"):
            torch.testing.assert_close(act[:4], cb[name][:4], rtol=0, atol=0, msg=name)


def test_without_a_mask_the_future_leaks(make_model):
    model = make_model(CFG)
    a = torch.tensor([2, 5, 6, 7, 8])
    b = torch.tensor([2, 5, 6, 7, 21])
    assert not torch.allclose(run_with_cache(model, a, mask="none")[0][0], run_with_cache(model, b, mask="none")[0][0])


@pytest.mark.parametrize("cfg", [CFG, ENC_DEC])
def test_patterns_are_distributions_and_masked_entries_are_zero(make_model, cfg):
    model = make_model(cfg)
    src = torch.tensor([5, 6, 7, 8, 3, 0])
    tgt = torch.tensor([2, 9, 10]) if cfg.arch == "encoder_decoder" else None
    _, c = run_with_cache(model, src, tgt)
    patterns = {k: v for k, v in c.items() if k.endswith("hook_pattern")}
    assert len(patterns) == (2 if cfg.arch == "decoder" else 6)
    for name, p in patterns.items():
        torch.testing.assert_close(p.sum(-1), torch.ones(p.shape[:-1]), msg=name)
        assert (p >= 0).all()
        hidden = torch.isneginf(c[name.replace("hook_pattern", "hook_attn_scores")])
        assert (p[hidden] == 0).all(), name
    if cfg.arch == "decoder":
        assert (c["blocks.0.attn.hook_pattern"][:, 0, 1:] == 0).all()
    else:
        assert (c["encoder.0.attn.hook_pattern"][..., 5] == 0).all(), "encoder ignores the padding key"
        assert (c["decoder.1.attn.hook_pattern"][:, 0, 1:] == 0).all(), "decoder self-attention is causal"


@pytest.mark.parametrize("cfg", [CFG, CFG.replace(norm="post", act_fn="swiglu"), ENC_DEC])
def test_hooked_forward_equals_plain_forward(make_model, cfg):
    model = make_model(cfg)
    src = torch.randint(4, 30, (2, 7))
    tgt = torch.randint(4, 30, (2, 5))
    plain = model(src) if cfg.arch == "decoder" else model(src, tgt)
    hooked, cache = run_with_cache(model, src, tgt if cfg.arch != "decoder" else None)
    # exact by construction: hooks are identities, so the hooked run performs the same ops on the same tensors
    torch.testing.assert_close(hooked, plain, rtol=0, atol=0)
    torch.testing.assert_close(cache["hook_logits"], plain, rtol=0, atol=0)
    torch.testing.assert_close(cache["hook_probs"], plain.softmax(-1))
    assert set(cache) == {a["name"] for a in activation_names(model)}


def test_name_globs_select_activations(make_model):
    model = make_model(CFG)
    _, c = run_with_cache(model, torch.tensor([2, 5, 6]), names=["blocks.1.attn.hook_*", "hook_logits"])
    assert set(c) == {f"blocks.1.attn.hook_{n}" for n in
                      ("q", "k", "v", "dot", "scaled", "attn_scores", "pattern", "z", "result")} | {"hook_logits"}


def test_cached_shapes_match_glossary_dims(make_model):
    model = make_model(ENC_DEC.replace(act_fn="swiglu"))
    _, c = run_with_cache(model, torch.tensor([5, 6, 7, 3]), torch.tensor([2, 9]))
    sizes = {"d_model": 32, "head": 4, "d_head": 8, "d_mlp": 64, "d_vocab": 30}
    for name, act in c.items():
        dims = dims_of(name)
        assert act.dim() == len(dims), name
        for dim, n in zip(dims, act.shape):
            if dim in sizes:
                assert n == sizes[dim], (name, dim)
    assert c["decoder.0.cross_attn.hook_pattern"].shape == (4, 2, 4), "target positions over source positions"


def test_capture_is_per_call_across_threads(make_model):
    model = make_model(CFG)
    inputs = [torch.randint(4, 30, (n,)) for n in range(3, 11)]
    expected = [run_with_cache(model, t)[1]["blocks.1.hook_resid_post"] for t in inputs]
    results, barrier = {}, threading.Barrier(len(inputs))

    def work(i):
        threads_.apply()  # the process's torch thread count in this thread too, so its float32 sums are the same
        barrier.wait()
        for _ in range(5):
            results[i] = run_with_cache(model, inputs[i], names="blocks.1.hook_resid_post")[1]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(inputs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i, exp in enumerate(expected):
        assert list(results[i]) == ["blocks.1.hook_resid_post"]
        # exact by construction: same input, same kernels, same thread count in every thread (threads_.apply)
        torch.testing.assert_close(results[i]["blocks.1.hook_resid_post"], exp, rtol=0, atol=0)
    assert not any(hasattr(m, "cache") for m in model.modules()), "nothing stored on modules"


def test_context_limit_is_enforced(make_model):
    with pytest.raises(ValueError, match="context is 16"):
        make_model(CFG)(torch.zeros(1, 17, dtype=torch.long))
