"""Layer norm, FFN variants, positions and block wiring against independent references."""
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from model.config import ModelConfig
from model.layers import LayerNorm, sinusoidal_table
from model.transformer import run_with_cache

CFG = ModelConfig(vocab_size=30, d_model=32, n_heads=4, n_layers=2, d_mlp=64, n_ctx=16)


def test_layer_norm_equals_torch():
    torch.manual_seed(1)
    ours, ref = LayerNorm(32, 1e-5), nn.LayerNorm(32, eps=1e-5)
    with torch.no_grad():
        ours.w.normal_(1, 0.3), ours.b.normal_(0, 0.3)
        ref.weight.copy_(ours.w), ref.bias.copy_(ours.b)
    x = torch.randn(3, 7, 32) * 4 + 2
    # nn.LayerNorm's fused kernel reduces in another order (and uses a Welford variance): float32 rounding
    torch.testing.assert_close(ours(x), ref(x), rtol=1e-5, atol=1e-5)


def test_layer_norm_statistics_are_reported_faithfully(make_model):
    _, c = run_with_cache(make_model(CFG), torch.randint(4, 30, (8,)))
    x = c["blocks.1.hook_resid_pre"]
    torch.testing.assert_close(c["blocks.1.ln1.hook_mean"], x.mean(-1))
    torch.testing.assert_close(c["blocks.1.ln1.hook_scale"], (x.var(-1, unbiased=False) + 1e-5).sqrt())
    std = c["blocks.1.ln1.hook_normalized"]
    # float32 mean of 32 centred values of order 1: ~1e-7. The variance is var / (var + eps), below 1 by eps / var
    # (1e-5 / var: under 1e-3 for any input variance above 0.01)
    torch.testing.assert_close(std.mean(-1), torch.zeros(8), atol=1e-5, rtol=0)
    torch.testing.assert_close(std.pow(2).mean(-1), torch.ones(8), atol=1e-3, rtol=0)


@pytest.mark.parametrize("act", ["relu", "gelu", "swiglu"])
def test_mlp_activation(make_model, act):
    model = make_model(CFG.replace(act_fn=act))
    _, c = run_with_cache(model, torch.randint(4, 30, (6,)))
    mlp = model.stack.blocks[0].mlp
    x = c["blocks.0.ln2.hook_out"]
    if act == "swiglu":
        expected_post = F.silu(x @ mlp.W_gate + mlp.b_gate) * (x @ mlp.W_in + mlp.b_in)
        torch.testing.assert_close(c["blocks.0.mlp.hook_pre_linear"], x @ mlp.W_in + mlp.b_in)
    else:
        pre = x @ mlp.W_in + mlp.b_in
        expected_post = torch.relu(pre) if act == "relu" else 0.5 * pre * (1 + torch.erf(pre / math.sqrt(2)))
    # the same float32 products; F.gelu's erf kernel vs torch.erf in the formula, and matmul vs @ blocking
    torch.testing.assert_close(c["blocks.0.mlp.hook_post"], expected_post, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(c["blocks.0.hook_mlp_out"], expected_post @ mlp.W_out + mlp.b_out,
                               rtol=1e-4, atol=1e-4)


def test_sinusoidal_table_by_hand():
    table = sinusoidal_table(10, 8)
    for pos in (0, 3, 9):
        for i in range(4):
            angle = pos / 10000 ** (2 * i / 8)
            # float32 table vs float64 math: float32 rounding of the angle (up to 9 rad) and of sin / cos
            assert table[pos, 2 * i].item() == pytest.approx(math.sin(angle), abs=1e-6)
            assert table[pos, 2 * i + 1].item() == pytest.approx(math.cos(angle), abs=1e-6)


def test_embeddings_are_table_rows(make_model):
    model = make_model(CFG.replace(pos_embed="learned"))
    tokens = torch.tensor([2, 7, 7, 11])
    _, c = run_with_cache(model, tokens)
    torch.testing.assert_close(c["hook_embed"], model.embed.W_E[tokens])
    torch.testing.assert_close(c["hook_pos_embed"], model.pos_embed.W_pos[:4])
    torch.testing.assert_close(c["blocks.0.hook_resid_pre"], c["hook_embed"] + c["hook_pos_embed"])


def test_pre_ln_residual_identities(make_model):
    _, c = run_with_cache(make_model(CFG), torch.randint(4, 30, (8,)))
    for layer in range(2):
        b = f"blocks.{layer}."
        torch.testing.assert_close(c[b + "hook_resid_mid"], c[b + "hook_resid_pre"] + c[b + "hook_attn_out"])
        torch.testing.assert_close(c[b + "hook_resid_post"], c[b + "hook_resid_mid"] + c[b + "hook_mlp_out"])
        torch.testing.assert_close(c[b + "ln1.hook_out"].shape, c[b + "hook_resid_pre"].shape)
    torch.testing.assert_close(c["blocks.1.hook_resid_pre"], c["blocks.0.hook_resid_post"])


def test_post_ln_wiring(make_model):
    model = make_model(CFG.replace(norm="post"))
    _, c = run_with_cache(model, torch.randint(4, 30, (8,)))
    ln = model.stack.blocks[0].ln1
    torch.testing.assert_close(c["blocks.0.hook_resid_mid"], ln(c["blocks.0.hook_resid_pre"] + c["blocks.0.hook_attn_out"]))
    assert "ln_final.hook_out" not in c, "post-LN blocks already end on a norm"


def test_ablated_variants_wiring(make_model):
    tokens = torch.randint(4, 30, (8,))
    _, c = run_with_cache(make_model(CFG.replace(residual=False)), tokens)
    torch.testing.assert_close(c["blocks.0.hook_resid_mid"], c["blocks.0.hook_attn_out"])
    torch.testing.assert_close(c["blocks.0.hook_resid_post"], c["blocks.0.hook_mlp_out"])
    _, c = run_with_cache(make_model(CFG.replace(mlp=False)), tokens)
    assert not any("mlp" in name for name in c)
    torch.testing.assert_close(c["blocks.0.hook_resid_post"], c["blocks.0.hook_resid_mid"])
    _, c = run_with_cache(make_model(CFG.replace(norm="none")), tokens)
    assert not any(".ln" in name or name.startswith("ln") for name in c)
    _, c = run_with_cache(make_model(CFG.replace(pos_embed="none")), tokens)
    assert (c["hook_pos_embed"] == 0).all()


def test_parameter_shapes_follow_transformer_lens(make_model):
    m = make_model(CFG.replace(act_fn="swiglu"))
    block = m.stack.blocks[0]
    assert block.attn.W_Q.shape == (4, 32, 8) and block.attn.W_O.shape == (4, 8, 32)
    assert block.mlp.W_in.shape == (32, 64) and block.mlp.W_gate.shape == (32, 64) and block.mlp.W_out.shape == (64, 32)
    assert m.embed.W_E.shape == (30, 32) and m.unembed.W_U.shape == (32, 30)
