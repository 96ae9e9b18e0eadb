"""Activation names mean what they mean in TransformerLens; extras are marked and clash with nothing; the list of
names is in the order the forward pass reaches them."""
import pytest
import torch
import torch.nn.functional as F

from model.config import ModelConfig
from model.glossary import activation_names, is_extra
from model.transformer import run_with_cache
from tests.hook_order import torch_hook_order

CFG = ModelConfig(vocab_size=30, d_model=32, n_heads=4, n_layers=2, d_mlp=64, n_ctx=16)
ENC_DEC = CFG.replace(arch="encoder_decoder", pos_embed="sinusoidal")


@pytest.mark.parametrize("cfg", [CFG, CFG.replace(norm="post", act_fn="swiglu"), ENC_DEC])
def test_activation_names_are_in_forward_order(make_model, cfg):
    model = make_model(cfg)
    names = [a["name"] for a in activation_names(model)]
    assert names == torch_hook_order(model)
    assert sorted(names) == sorted(model.hook_names)  # every hook, once
    first = "encoder.hook_embed" if cfg.arch == "encoder_decoder" else "hook_embed"
    assert names[0] == first and names[-2:] == ["hook_logits", "hook_probs"]


# TransformerLens's names for a 2-layer pre-LN GPT-2-style model as loaded by HookedTransformer.from_pretrained
# (fold_ln: LayerNormPre has hook_scale and hook_normalized), with use_attn_result (hook_result); written from
# TransformerLens's documentation, not from this project's code.
TL_NAMES = {"hook_embed", "hook_pos_embed", "ln_final.hook_scale", "ln_final.hook_normalized"} | {
    f"blocks.{l}.{leaf}" for l in range(2) for leaf in (
        "hook_resid_pre", "ln1.hook_scale", "ln1.hook_normalized", "attn.hook_q", "attn.hook_k", "attn.hook_v",
        "attn.hook_attn_scores", "attn.hook_pattern", "attn.hook_z", "attn.hook_result", "hook_attn_out",
        "hook_resid_mid", "ln2.hook_scale", "ln2.hook_normalized", "mlp.hook_pre", "mlp.hook_post", "hook_mlp_out",
        "hook_resid_post")}


def test_names_that_are_not_extras_are_exactly_transformer_lens_names(make_model):
    entries = activation_names(make_model(CFG.replace(act_fn="gelu")))
    assert {a["name"] for a in entries if not a["extra"]} == TL_NAMES
    extras = {a["name"] for a in entries if a["extra"]}
    assert extras and not extras & TL_NAMES
    assert {"hook_logits", "hook_probs", "blocks.0.ln1.hook_out", "blocks.0.ln1.hook_mean"} <= extras
    assert is_extra("decoder.0.cross_attn.hook_pattern") and is_extra("decoder.0.ln_cross.hook_normalized")


def test_ln_hook_normalized_is_before_gamma_beta_and_hook_out_after(make_model):
    """hook_normalized = (x - mean) / sqrt(var + eps) (TransformerLens's LayerNormPre); hook_out = that · γ + β.
    Reference: torch's fused layer_norm, which reduces in another order, so they agree to float32 rounding
    (values are O(1) to O(10) here; 1e-5 is a few ulps)."""
    model = make_model(CFG)
    _, c = run_with_cache(model, torch.randint(4, 30, (8,)))
    ln = model.stack.blocks[1].ln2
    x = c["blocks.1.hook_resid_mid"]
    torch.testing.assert_close(c["blocks.1.ln2.hook_normalized"], F.layer_norm(x, (32,), eps=ln.eps),
                               rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(c["blocks.1.ln2.hook_out"], F.layer_norm(x, (32,), ln.w, ln.b, eps=ln.eps),
                               rtol=1e-5, atol=1e-5)
    assert (c["blocks.1.ln2.hook_normalized"] - c["blocks.1.ln2.hook_out"]).abs().max() > 0.1  # γ, β are not 1, 0
