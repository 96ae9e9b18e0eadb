"""The written-out attention equals PyTorch's own attention implementations with the same weights."""
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from model.config import ModelConfig
from model.transformer import run_with_cache

CFG = ModelConfig(vocab_size=30, d_model=32, n_heads=4, n_layers=2, d_mlp=64, n_ctx=16)


def to_mha(attn) -> nn.MultiheadAttention:
    """Copy an Attention module's weights into nn.MultiheadAttention (heads laid out head-major)."""
    h, d, dh = attn.W_Q.shape
    mha = nn.MultiheadAttention(d, h, batch_first=True)
    with torch.no_grad():
        w = [W.permute(0, 2, 1).reshape(h * dh, d) for W in (attn.W_Q, attn.W_K, attn.W_V)]
        mha.in_proj_weight.copy_(torch.cat(w))
        mha.in_proj_bias.copy_(torch.cat([b.reshape(-1) for b in (attn.b_Q, attn.b_K, attn.b_V)]))
        mha.out_proj.weight.copy_(attn.W_O.reshape(h * dh, d).T)
        mha.out_proj.bias.copy_(attn.b_O)
    return mha.eval()


@pytest.mark.parametrize("layer", [0, 1])
def test_self_attention_matches_multihead_attention(make_model, layer):
    model = make_model(CFG)
    tokens = torch.randint(4, 30, (10,))
    _, cache = run_with_cache(model, tokens)
    x = cache[f"blocks.{layer}.ln1.hook_out"][None]
    causal = torch.ones(10, 10, dtype=torch.bool).triu(1)  # True = not allowed, MHA's convention
    out, weights = to_mha(model.stack.blocks[layer].attn)(x, x, x, attn_mask=causal, average_attn_weights=False)
    # torch's MultiheadAttention computes the same sums in another order (fused in_proj, bmm): float32 rounding,
    # values of order 1-10 here, so a few 1e-6; a wrong step is off by O(0.1)
    torch.testing.assert_close(cache[f"blocks.{layer}.hook_attn_out"], out[0], rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(cache[f"blocks.{layer}.attn.hook_pattern"], weights[0], rtol=1e-4, atol=1e-6)


def test_z_matches_scaled_dot_product_attention(make_model):
    model = make_model(CFG)
    _, cache = run_with_cache(model, torch.randint(4, 30, (12,)))
    q, k, v = (cache[f"blocks.0.attn.hook_{n}"].transpose(0, 1) for n in "qkv")  # [head, pos, d_head]
    z = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    # fused SDPA vs the written-out steps: float32 rounding in another order
    torch.testing.assert_close(cache["blocks.0.attn.hook_z"], z.transpose(0, 1), rtol=1e-4, atol=1e-5)


def test_each_attention_step_is_what_it_says(make_model):
    model = make_model(CFG)
    _, c = run_with_cache(model, torch.randint(4, 30, (9,)))
    a = "blocks.1.attn."
    dot = torch.einsum("qhe,khe->hqk", c[a + "hook_q"], c[a + "hook_k"])
    torch.testing.assert_close(c[a + "hook_dot"], dot)
    torch.testing.assert_close(c[a + "hook_scaled"], dot / math.sqrt(CFG.d_head))
    hidden = torch.ones(9, 9, dtype=torch.bool).triu(1)
    scores = c[a + "hook_attn_scores"]
    assert torch.isneginf(scores[:, hidden]).all() and torch.isfinite(scores[:, ~hidden]).all()
    torch.testing.assert_close(scores[:, ~hidden], c[a + "hook_scaled"][:, ~hidden])
    torch.testing.assert_close(c[a + "hook_pattern"], torch.softmax(scores, -1))
    attn = model.stack.blocks[1].attn
    out = c[a + "hook_z"].reshape(9, -1) @ attn.W_O.reshape(-1, CFG.d_model) + attn.b_O  # concat heads, one W_O
    # concat-then-one-matmul vs per-head matmuls summed: the same products, summed in another order (float32)
    torch.testing.assert_close(c["blocks.1.hook_attn_out"], out, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(c[a + "hook_result"].sum(1) + attn.b_O, out, rtol=1e-4, atol=1e-5)


def test_cross_attention_matches_multihead_attention(make_model):
    cfg = CFG.replace(arch="encoder_decoder")
    model = make_model(cfg)
    src = torch.tensor([[5, 6, 7, 8, 3, 0, 0]])  # two padding tokens at the end
    tgt = torch.tensor([[2, 9, 10, 11]])
    _, c = run_with_cache(model, src, tgt)
    memory = model.encode(src)
    x = c["decoder.0.ln_cross.hook_out"]
    out, w = to_mha(model.decoder.blocks[0].cross_attn)(x, memory, memory, key_padding_mask=src == 0,
                                                        average_attn_weights=False)
    # as above: MultiheadAttention sums in another order (float32 rounding)
    torch.testing.assert_close(c["decoder.0.hook_cross_attn_out"], out, rtol=1e-4, atol=1e-5)
    pattern = c["decoder.0.cross_attn.hook_pattern"]
    torch.testing.assert_close(pattern, w, rtol=1e-4, atol=1e-6)
    assert (pattern[..., 5:] == 0).all(), "padding keys get exactly zero weight"
