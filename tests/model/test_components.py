"""The architecture-neutral components against independent references: torch's own modules, hand-computed
rotations and tables, and invariants (GQA = MHA with repeated key/value heads, parallel-block sums, windows)."""
import math

import pytest
import torch
from torch import nn

from model.attention import build_mask
from model.config import ModelConfig
from model.norms import RMSNorm
from model.positions import Rotary, sinusoidal_halves_table
from model.transformer import run_with_cache

CFG = ModelConfig(vocab_size=30, d_model=32, n_heads=4, n_layers=2, d_mlp=64, n_ctx=16)
ROPE = CFG.replace(pos_embed="rotary", norm_type="rms", act_fn="swiglu", attn_bias=False, attn_out_bias=False,
                   mlp_bias=False, unembed_bias=False)


def test_rms_norm_equals_torch():
    torch.manual_seed(0)
    ours, ref = RMSNorm(16, 1e-6), nn.RMSNorm(16, eps=1e-6)
    with torch.no_grad():
        ours.w.normal_(1, 0.3)
        ref.weight.copy_(ours.w)
    x = torch.randn(2, 5, 16) * 3
    torch.testing.assert_close(ours(x), ref(x), rtol=1e-5, atol=1e-6)


def test_sinusoidal_halves_by_hand():
    table = sinusoidal_halves_table(12, 6)
    for pos in (0, 5, 11):
        for i in range(3):
            angle = pos / 10000 ** (2 * i / 6)
            assert table[pos, i].item() == pytest.approx(math.sin(angle), abs=1e-6)
            assert table[pos, 3 + i].item() == pytest.approx(math.cos(angle), abs=1e-6)
    odd = sinusoidal_halves_table(4, 5)  # ceil(5/2) = 3 sines, then 2 cosines
    assert odd[3, 2].item() == pytest.approx(math.sin(3 / 10000 ** (4 / 5)), abs=1e-6)
    assert odd[3, 4].item() == pytest.approx(math.cos(3 / 10000 ** (2 / 5)), abs=1e-6)


@pytest.mark.parametrize("rotary_dim", [8, 4])
def test_rotary_turns_each_pair_by_its_angle(rotary_dim):
    cfg = CFG.replace(pos_embed="rotary", rotary_dim=rotary_dim, rotary_base=100.0)
    rot = Rotary(cfg)
    x = torch.randn(1, 5, 2, 8)
    cos, sin = rot.cos_sin(5)
    out = Rotary.rotate(x, cos, sin)
    half = rotary_dim // 2
    for pos in range(5):
        for i in range(half):
            a = pos * 100.0 ** (-2 * i / rotary_dim)
            x1, x2 = x[0, pos, :, i], x[0, pos, :, i + half]
            torch.testing.assert_close(out[0, pos, :, i], x1 * math.cos(a) - x2 * math.sin(a))
            torch.testing.assert_close(out[0, pos, :, i + half], x2 * math.cos(a) + x1 * math.sin(a))
    torch.testing.assert_close(out[..., rotary_dim:], x[..., rotary_dim:], rtol=0, atol=0)


def test_rotary_scores_depend_on_distance_only():
    rot = Rotary(CFG.replace(pos_embed="rotary"))
    q, k = torch.randn(8), torch.randn(8)
    cos, sin = rot.cos_sin(10)
    qs = Rotary.rotate(q.expand(1, 10, 1, 8), cos, sin)[0, :, 0]
    ks = Rotary.rotate(k.expand(1, 10, 1, 8), cos, sin)[0, :, 0]
    torch.testing.assert_close(qs[7] @ ks[4], qs[5] @ ks[2], rtol=1e-5, atol=1e-5)  # both 3 apart


def test_grouped_query_attention_equals_mha_with_repeated_heads(make_model):
    gqa = make_model(ROPE.replace(n_kv_heads=2))
    mha = make_model(ROPE)
    sd = gqa.state_dict()
    for k in list(sd):
        if k.endswith(("attn.W_K", "attn.W_V")):
            sd[k] = sd[k].repeat_interleave(2, dim=0)
    mha.load_state_dict(sd)
    tokens = torch.randint(0, 30, (7,))
    lg, cg = run_with_cache(gqa, tokens)
    lm, cm = run_with_cache(mha, tokens)
    torch.testing.assert_close(lg, lm, rtol=1e-5, atol=1e-5)
    assert cg["blocks.0.attn.hook_k"].shape == (7, 2, 8) and cm["blocks.0.attn.hook_k"].shape == (7, 4, 8)
    assert gqa.hook_specs["blocks.0.attn.hook_k"].dims == ("key_pos", "kv_head", "d_head")
    torch.testing.assert_close(cg["blocks.1.attn.hook_pattern"], cm["blocks.1.attn.hook_pattern"])
    torch.testing.assert_close(cg["blocks.1.attn.hook_rot_k"].repeat_interleave(2, dim=1),
                               cm["blocks.1.attn.hook_rot_k"])


def test_parallel_block_adds_both_sublayers_to_its_input(make_model):
    model = make_model(CFG.replace(block="parallel", pos_embed="rotary", rotary_dim=4))
    _, c = run_with_cache(model, torch.randint(0, 30, (6,)))
    assert "blocks.0.hook_resid_mid" not in c
    for l in range(2):
        b = f"blocks.{l}."
        torch.testing.assert_close(c[b + "hook_resid_post"],
                                   c[b + "hook_resid_pre"] + c[b + "hook_attn_out"] + c[b + "hook_mlp_out"])
        torch.testing.assert_close(c[b + "ln2.hook_normalized"], c[b + "ln1.hook_normalized"])  # same input


def test_sliding_window_mask_by_hand():
    m = build_mask("causal", 5, torch.zeros(1, 5, dtype=torch.long), 0, window=2)[0, 0]
    expected = torch.tensor([[q - 2 < k <= q for k in range(5)] for q in range(5)])
    assert torch.equal(m, expected)
    keys = torch.tensor([[1, 1, 1, 0, 0]])
    m = build_mask("causal", 5, keys, None, key_mask=keys)[0, 0]
    assert torch.equal(m, torch.ones(5, 5, dtype=torch.bool).tril() & keys.bool())


def test_steps_cover_every_hook_in_forward_order_with_the_captured_dims(make_model):
    model = make_model(ROPE.replace(n_kv_heads=2, n_token_types=2, embed_norm=True, lm_head="mlm",
                                    arch="encoder", self_attn_mask="padding", norm="post", act_fn="gelu_new"))
    steps = model.steps()
    _, cache = run_with_cache(model, torch.randint(1, 30, (5,)))
    assert [s["hook"] for s in steps] == list(cache)  # the capture order is the forward order
    sizes = {"pos": 5, "query_pos": 5, "key_pos": 5, "d_model": 32, "head": 4, "kv_head": 2, "d_head": 8,
             "d_mlp": 64, "d_vocab": 30}
    for s in steps:
        assert list(cache[s["hook"]].shape) == [sizes[d] for d in s["dims"]], s
        assert s["name"] and len(s["description"]) > 15
    by_hook = {s["hook"]: s for s in steps}
    assert by_hook["blocks.1.attn.hook_rot_q"]["component"] == "blocks.1.attn"
    assert by_hook["blocks.1.attn.hook_rot_q"]["kind"] == "attention"
    assert by_hook["ln_embed.hook_scale"]["kind"] == "rms_norm"
    assert by_hook["hook_logits"]["component"] == ""
    assert steps[-1]["hook"] == "hook_probs" and steps[0]["hook"] == "hook_embed"


def test_gelu_new_is_the_tanh_form(make_model):
    model = make_model(CFG.replace(act_fn="gelu_new"))
    _, c = run_with_cache(model, torch.randint(0, 30, (6,)))
    x = c["blocks.0.mlp.hook_pre"]
    ref = 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))
    torch.testing.assert_close(c["blocks.0.mlp.hook_post"], ref, rtol=1e-5, atol=1e-5)
