"""run_with_cache(stop_early=True) (issue 7): the forward stops once every requested activation is captured;
the captured tensors are identical to a full forward's, and later hooks really do not run."""
from __future__ import annotations

import pytest
import torch

from model import zoo
from model.config import ModelConfig
from model.hooks import HookPoint
from model.transformer import build_model, run_with_cache

DEC = ModelConfig(vocab_size=40, d_model=32, n_heads=4, n_layers=3, d_mlp=64, n_ctx=16)
ENCDEC = DEC.replace(arch="encoder_decoder")


def _model(cfg):
    torch.manual_seed(0)
    return build_model(cfg).eval()


def _fired(model, tokens, target=None, **kw):
    """Names of the HookPoints that ran during one run_with_cache call."""
    fired = []
    handles = [m.register_forward_hook(lambda mod, i, o: fired.append(mod.name)) for m in model.modules()
               if isinstance(m, HookPoint)]
    try:
        logits, cache = run_with_cache(model, tokens, target, **kw)
    finally:
        for h in handles:
            h.remove()
    return logits, cache, fired


@pytest.mark.parametrize("names", [["blocks.0.*"], ["hook_embed"], ["blocks.1.attn.hook_pattern", "blocks.0.ln1.*"],
                                   "blocks.2.*", ["hook_logits"], ["hook_probs"], None])
def test_same_activations_as_a_full_forward(names):
    model = _model(DEC)
    tokens = torch.randint(0, DEC.vocab_size, (10,))
    with torch.inference_mode():
        full_logits, full = run_with_cache(model, tokens, names=names)
        logits, early, fired = _fired(model, tokens, names=names, stop_early=True)
    assert early.keys() == full.keys() and early
    for k in full:
        torch.testing.assert_close(early[k], full[k], rtol=0, atol=0)
    last_block = max((int(k.split(".")[1]) for k in full if k.startswith("blocks.")), default=-1)
    if names is None or any("logits" in n or "probs" in n for n in ([names] if isinstance(names, str) else names)):
        assert any(n.startswith(f"blocks.{DEC.n_layers - 1}.") for n in fired)  # had to run to the end
    else:
        assert logits is None
        assert not any(n.startswith(f"blocks.{last_block + 1}.") for n in fired)  # later blocks skipped
        assert "hook_logits" not in fired


def test_layer_zero_request_runs_only_layer_zero():
    model = _model(DEC)
    tokens = torch.randint(0, DEC.vocab_size, (8,))
    with torch.inference_mode():
        _, cache, fired = _fired(model, tokens, names=["blocks.0.*"], stop_early=True)
    assert all(n.startswith("blocks.0.") or n in ("hook_embed", "hook_pos_embed") for n in fired), fired
    assert set(cache) == {n for n in model.hook_names if n.startswith("blocks.0.")}


def test_encoder_decoder_encoder_request_skips_the_decoder():
    model = _model(ENCDEC)
    src, tgt = torch.randint(4, ENCDEC.vocab_size, (7,)), torch.randint(4, ENCDEC.vocab_size, (5,))
    with torch.inference_mode():
        _, full = run_with_cache(model, src, tgt, names=["encoder.1.*"])
        logits, early, fired = _fired(model, src, tgt, names=["encoder.1.*"], stop_early=True)
        _, dec_full = run_with_cache(model, src, tgt, names=["decoder.0.cross_attn.*"])
        _, dec_early = run_with_cache(model, src, tgt, names=["decoder.0.cross_attn.*"], stop_early=True)
    assert logits is None and not any(n.startswith("decoder.") for n in fired)
    for a, b in ((early, full), (dec_early, dec_full)):
        assert a.keys() == b.keys() and a
        for k in a:
            torch.testing.assert_close(a[k], b[k], rtol=0, atol=0)


def test_shipped_model_trace_route_names_match():
    loaded = zoo.load(zoo.DEFAULT_MODEL)
    ids = torch.tensor(loaded.encode("the cat"))
    with torch.inference_mode():
        for names in (["blocks.0.attn.hook_pattern"], ["blocks.1.mlp.*", "hook_probs"]):
            _, full = run_with_cache(loaded.model, ids, names=names)
            _, early = run_with_cache(loaded.model, ids, names=names, stop_early=True)
            assert early.keys() == full.keys()
            for k in full:
                torch.testing.assert_close(early[k], full[k], rtol=0, atol=0)


def test_max_values_stops_the_forward_when_the_capture_is_over_budget():
    from model.hooks import CaptureTooLarge
    model = _model(DEC)
    tokens = torch.randint(0, DEC.vocab_size, (10,))
    with torch.inference_mode():
        _, full = run_with_cache(model, tokens)
        total = sum(t.numel() for t in full.values())
        _, at_limit = run_with_cache(model, tokens, max_values=total)  # exactly the budget: allowed
        assert at_limit.keys() == full.keys()
        fired = []
        handles = [m.register_forward_hook(lambda mod, i, o: fired.append(mod.name)) for m in model.modules()
                   if isinstance(m, HookPoint)]
        try:
            with pytest.raises(CaptureTooLarge) as e:
                run_with_cache(model, tokens, max_values=500)
        finally:
            for h in handles:
                h.remove()
    # it stopped at the first hook that crossed 500 values: hook_embed (10 x 32 = 320) + hook_pos_embed (320)
    assert e.value.values == 640 and e.value.max_values == 500
    assert fired == ["hook_embed"]
