"""Resuming a decoder-only forward at block l (issue 7): `DecoderOnly.run_blocks` from the residual stream an
earlier call handed to `on_resid` gives bit-identical activations and logits to a full forward, for every
start block, every name at or after it, and every block variant; head selection slices as it captures."""
from __future__ import annotations

import pytest
import torch

from model.config import ModelConfig
from model.glossary import dims_of
from model.hooks import CaptureTooLarge, HookPoint
from model.transformer import block_of, build_model, first_block, run_with_cache

DEC = ModelConfig(vocab_size=40, d_model=32, n_heads=4, n_layers=3, d_mlp=64, n_ctx=16)
VARIANTS = [DEC, DEC.replace(norm="post", act_fn="swiglu"), DEC.replace(residual=False, pos_embed="learned"),
            DEC.replace(mlp=False, norm="none")]


def _model(cfg):
    torch.manual_seed(0)
    return build_model(cfg).eval()


def _resids(model, tokens, **kw):
    got: dict[int, torch.Tensor] = {}
    with torch.inference_mode():
        run_with_cache(model, tokens, on_resid=lambda layer, x: got.__setitem__(layer, x), **kw)
    return got


@pytest.mark.parametrize("cfg", VARIANTS)
def test_resumed_forward_is_bit_identical_for_every_start_and_name(cfg):
    model = _model(cfg)
    tokens = torch.randint(0, cfg.vocab_size, (11,))
    with torch.inference_mode():
        full_logits, full = run_with_cache(model, tokens)
    resids = _resids(model, tokens, names=[])
    assert sorted(resids) == list(range(cfg.n_layers + 1))
    for start in range(cfg.n_layers + 1):
        after = [n for n in model.hook_names if block_of(n, cfg.n_layers) >= start]
        with torch.inference_mode():
            logits, cache = run_with_cache(model, tokens, names=after, start=start, resid=resids[start])
        assert list(cache) == [n for n in full if n in set(after)]  # every name at or after the block, in order
        for name in after:
            assert torch.equal(cache[name], full[name]), (start, name)
        assert torch.equal(logits, full_logits)
        if start < cfg.n_layers:  # the resid handed out is what the hooks capture entering that block
            assert torch.equal(resids[start], full[f"blocks.{start}.hook_resid_pre"])
        if start > 0:
            assert torch.equal(resids[start], full[f"blocks.{start - 1}.hook_resid_post"])


def test_resumed_run_fires_no_hook_before_the_block_and_stops_early():
    model = _model(DEC)
    tokens = torch.randint(0, DEC.vocab_size, (9,))
    resids = _resids(model, tokens, names=["blocks.0.*"], stop_early=True)
    assert sorted(resids) == [0, 1]  # the stream entering block 1 is block 0's resid_post, the last hook that ran
    fired = []
    handles = [m.register_forward_hook(lambda mod, i, o: fired.append(mod.name)) for m in model.modules()
               if isinstance(m, HookPoint)]
    try:
        with torch.inference_mode():
            logits, cache = run_with_cache(model, tokens, names=["blocks.1.*"], stop_early=True, start=1,
                                           resid=resids[1], on_resid=lambda layer, x: resids.__setitem__(layer, x))
    finally:
        for h in handles:
            h.remove()
    assert logits is None and fired and all(n.startswith("blocks.1.") for n in fired), fired
    assert set(cache) == {n for n in model.hook_names if n.startswith("blocks.1.")}
    assert sorted(resids) == [0, 1, 2]


def test_with_on_resid_stop_early_finishes_the_block():
    model = _model(DEC)
    tokens = torch.randint(0, DEC.vocab_size, (9,))
    resids: dict[int, torch.Tensor] = {}
    fired = []
    handles = [m.register_forward_pre_hook(lambda mod, i: fired.append(mod.name)) for m in model.modules()
               if isinstance(m, HookPoint)]
    try:
        with torch.inference_mode():
            _, full = run_with_cache(model, tokens)
            fired.clear()
            logits, cache = run_with_cache(model, tokens, names=["blocks.1.attn.hook_pattern"], stop_early=True,
                                           on_resid=lambda layer, x: resids.__setitem__(layer, x))
    finally:
        for h in handles:
            h.remove()
    assert logits is None and list(cache) == ["blocks.1.attn.hook_pattern"]
    assert fired[-1] == "blocks.1.hook_resid_post" and not any(n.startswith("blocks.2.") for n in fired)
    assert sorted(resids) == [0, 1, 2] and torch.equal(resids[2], full["blocks.1.hook_resid_post"])


def test_batched_resume():
    model = _model(DEC)
    tokens = torch.randint(0, DEC.vocab_size, (2, 6))
    with torch.inference_mode():
        full_logits, full = run_with_cache(model, tokens)
        resid = full["blocks.2.hook_resid_pre"]
        logits, cache = run_with_cache(model, tokens, names="blocks.2.*", start=2, resid=resid)
    assert torch.equal(logits, full_logits)
    assert all(torch.equal(v, full[k]) for k, v in cache.items()) and cache


def test_refusals():
    model = _model(DEC)
    tokens = torch.randint(0, DEC.vocab_size, (5,))
    resid = _resids(model, tokens, names=[])[2]
    with torch.inference_mode():
        with pytest.raises(ValueError, match="before block 2"):
            run_with_cache(model, tokens, names=["blocks.1.hook_resid_post"], start=2, resid=resid)
        with pytest.raises(ValueError, match="before block 2"):
            run_with_cache(model, tokens, start=2, resid=resid)  # all names: the embeddings come first
        with pytest.raises(ValueError, match="needs resid"):
            run_with_cache(model, tokens, names="blocks.2.*", start=2)
        with pytest.raises(ValueError, match="shape"):
            run_with_cache(model, tokens[:4], names="blocks.2.*", start=2, resid=resid)
        with pytest.raises(ValueError, match="outside"):
            model.run_blocks(resid[None], tokens[None], DEC.n_layers + 1)
        encdec = _model(DEC.replace(arch="encoder_decoder"))
        with pytest.raises(ValueError, match="decoder-only"):
            run_with_cache(encdec, tokens, tokens, names="decoder.1.*", start=1, resid=resid)
        with pytest.raises(ValueError, match="decoder-only"):
            run_with_cache(encdec, tokens, tokens, on_resid=lambda layer, x: None)


def test_first_block():
    model = _model(DEC)
    assert first_block(model, None) == -1
    assert first_block(model, ["blocks.2.*", "hook_logits"]) == 2
    assert first_block(model, "ln_final.*") == DEC.n_layers == first_block(model, [])
    assert first_block(model, ["blocks.1.attn.hook_z", "hook_pos_embed"]) == -1


@pytest.mark.parametrize("cfg", [DEC, DEC.replace(arch="encoder_decoder")])
def test_heads_are_sliced_as_captured(cfg):
    model = _model(cfg)
    src = torch.randint(4, cfg.vocab_size, (7,))
    tgt = torch.randint(4, cfg.vocab_size, (5,)) if cfg.arch == "encoder_decoder" else None
    with torch.inference_mode():
        _, full = run_with_cache(model, src, tgt)
        _, some = run_with_cache(model, src, tgt, heads=[3, 1])
    assert list(some) == list(full)
    sliced = 0
    for name, t in full.items():
        dims = dims_of(name)
        if "head" in dims:
            sliced += 1
            assert torch.equal(some[name], t.index_select(dims.index("head"), torch.tensor([3, 1]))), name
            assert some[name].shape[dims.index("head")] == 2
        else:
            assert torch.equal(some[name], t), name
    assert sliced >= 9 * cfg.n_layers


def test_heads_count_in_max_values_and_are_checked():
    model = _model(DEC)
    tokens = torch.randint(0, DEC.vocab_size, (6,))
    pattern = ["blocks.0.attn.hook_pattern"]
    with torch.inference_mode():
        _, one = run_with_cache(model, tokens, names=pattern, heads=[2], max_values=36)  # 1 head x 6 x 6
        assert one[pattern[0]].shape == (1, 6, 6)
        with pytest.raises(CaptureTooLarge):
            run_with_cache(model, tokens, names=pattern, heads=[2, 3], max_values=36)
        for bad in ([4], [-1], []):
            with pytest.raises(ValueError, match="heads"):
                run_with_cache(model, tokens, names=pattern, heads=bad)
