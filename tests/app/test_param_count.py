"""model/param_count.py against sum(p.numel()) of real modules built from the same ModelConfig, and the
GET /api/v1/param-count endpoint."""
from __future__ import annotations

import itertools

import pytest
import torch

from model.config import ModelConfig
from model.param_count import COMPONENTS, PRESETS, count
from model.transformer import build_model


def numel(cfg: ModelConfig, device: str = "cpu") -> int:
    with torch.device(device):
        return sum(p.numel() for p in build_model(cfg).parameters())


def by_component(cfg: ModelConfig) -> dict[str, int]:
    """Bucket the real module's parameters by name, independently of the arithmetic."""
    out = dict.fromkeys(COMPONENTS, 0)
    with torch.device("meta"):
        model = build_model(cfg)
    for name, p in model.named_parameters():
        leaf = name.rsplit(".", 1)[-1]
        if name in ("embed.W_E", "token_type_embed.W_token_type"):
            k = "embeddings"
        elif name == "pos_embed.W_pos":
            k = "positions"
        elif name in ("unembed.W_U", "mlm_head.W"):
            k = "unembedding"
        elif leaf.startswith("b_") or name == "mlm_head.b":
            k = "biases"
        elif leaf in ("W_Q", "W_K", "W_V", "W_O"):
            k = "attention"
        elif leaf in ("W_in", "W_out", "W_gate"):
            k = "ffn"
        elif leaf in ("w", "b"):
            k = "layer_norms"
        else:
            raise AssertionError(f"unclassified parameter {name}")
        out[k] += p.numel()
    return out


GRID = list(itertools.product(["decoder", "encoder_decoder"], ["relu", "gelu", "swiglu"],
                              ["sinusoidal", "learned", "none"], ["pre", "post", "none"], [False, True], [True, False]))


@pytest.mark.parametrize("arch,act_fn,pos,norm,tie,mlp", GRID)
def test_arithmetic_equals_real_modules(arch, act_fn, pos, norm, tie, mlp):
    cfg = ModelConfig(arch=arch, vocab_size=23, d_model=12, n_heads=3, n_layers=2, d_mlp=20, n_ctx=9, act_fn=act_fn,
                      pos_embed=pos, norm=norm, tie_embeddings=tie, mlp=mlp)
    c = count(cfg)
    assert c["total"] == numel(cfg) == sum(c["breakdown"].values())
    assert c["breakdown"] == by_component(cfg)


def test_swiglu_adds_a_third_matrix():
    base = ModelConfig(d_model=16, n_heads=2, d_mlp=40, n_layers=3)
    gelu, swiglu = count(base), count(base.replace(act_fn="swiglu"))
    assert swiglu["breakdown"]["ffn"] - gelu["breakdown"]["ffn"] == 3 * 16 * 40
    assert swiglu["breakdown"]["biases"] - gelu["breakdown"]["biases"] == 3 * 40


def test_tied_unembedding_adds_nothing():
    cfg = ModelConfig(vocab_size=100, d_model=16, n_heads=2)
    assert count(cfg.replace(tie_embeddings=True))["breakdown"]["unembedding"] == 0
    assert count(cfg)["total"] - count(cfg.replace(tie_embeddings=True))["total"] == 100 * 16


@pytest.mark.parametrize("preset", list(PRESETS))
def test_presets_equal_meta_modules_and_published(preset):
    p = PRESETS[preset]
    c = count(p["config"])
    assert c["total"] == numel(p["config"], "meta")
    assert c["breakdown"] == by_component(p["config"])
    assert abs(c["total"] - p["published"]) / p["published"] < 0.03  # the note explains the difference
    assert p["note"]


def test_known_differences_are_exact():
    """The notes' arithmetic: GPT-2 = published (no b_U); BERT = published - pooler + the MLM head's dense,
    layer norm and output bias."""
    assert count(PRESETS["gpt2-small"]["config"])["total"] == 124_439_808
    assert count(PRESETS["bert-base"]["config"])["total"] == 109_482_240 - 590_592 + 590_592 + 1_536 + 30_522


# ---- endpoint -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("preset", list(PRESETS))
def test_endpoint_presets(client, preset):
    r = client.get("/api/v1/param-count", params={"preset": preset})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["total"] == numel(PRESETS[preset]["config"], "meta") == sum(out["breakdown"].values())
    assert out["breakdown"] == by_component(PRESETS[preset]["config"])
    assert out["published"] == PRESETS[preset]["published"] and out["note"]


def test_endpoint_free_inputs_and_overrides(client):
    q = {"arch": "encoder_decoder", "vocab": 500, "d_model": 32, "n_heads": 4, "n_layers": 3, "d_mlp": 64,
         "act_fn": "swiglu", "pos_embed": "learned", "n_ctx": 40, "norm": "post", "tie_embeddings": "true"}
    out = client.get("/api/v1/param-count", params=q).json()
    cfg = ModelConfig(arch="encoder_decoder", vocab_size=500, d_model=32, n_heads=4, n_layers=3, d_mlp=64,
                      act_fn="swiglu", pos_embed="learned", n_ctx=40, norm="post", tie_embeddings=True)
    assert out["total"] == numel(cfg) and out["config"]["vocab_size"] == 500
    over = client.get("/api/v1/param-count", params={"preset": "gpt2-small", "n_layers": 2}).json()
    assert over["total"] == numel(PRESETS["gpt2-small"]["config"].replace(n_layers=2), "meta")
    assert over["published"] is None  # a changed preset is no longer the published model


@pytest.mark.parametrize("q", [{"d_model": 30, "n_heads": 4}, {"d_model": 0}, {"preset": "gpt-5"},
                               {"act_fn": "tanh"}, {"n_layers": "many"}])
def test_endpoint_errors(client, error_of, q):
    e = error_of(client.get("/api/v1/param-count", params=q), 422)
    assert any(k in e["message"] for k in q)


def test_endpoint_counts_the_new_components_and_ignores_blank_choices(client):
    """A form's select with no matching option sends an empty value: the preset's own stands (GPT-2's gelu_new,
    BERT's encoder arch), so the preset is still the published model."""
    gpt2 = client.get("/api/v1/param-count", params={"preset": "gpt2-small", "act_fn": "", "arch": "decoder"}).json()
    assert gpt2["config"]["act_fn"] == "gelu_new" and gpt2["published"] == gpt2["total"] == 124_439_808
    bert = client.get("/api/v1/param-count", params={"preset": "bert-base", "arch": "", "norm": "post"}).json()
    assert bert["config"]["arch"] == "encoder" and bert["published"] == 109_482_240
    enc = ModelConfig(arch="encoder", act_fn="silu", pos_embed="rotary", self_attn_mask="padding")
    out = client.get("/api/v1/param-count", params={"arch": "encoder", "act_fn": "silu", "pos_embed": "rotary"}).json()
    assert out["total"] == numel(enc) and out["breakdown"]["positions"] == 0


def llama_by_hand(V: int, d: int, H: int, kv: int, L: int, m: int, tied: bool) -> int:
    """A Llama-style decoder counted by hand: per block W_Q and W_O (d × H·dh each), W_K and W_V (d × kv·dh each),
    three FFN matrices (SwiGLU: d × m, d × m, m × d), two RMSNorm γ (d each), no biases; then W_E, the final
    RMSNorm γ and, untied, W_U. Rotary positions have no parameters."""
    dh = d // H
    block = 2 * d * H * dh + 2 * d * kv * dh + 3 * d * m + 2 * d
    return V * d + L * block + d + (0 if tied else d * V)


def test_llama3_8b_preset_by_hand():
    # Meta's published configuration of Llama 3 8B: vocabulary 128,256, d_model 4,096, 32 layers, 32 query heads,
    # 8 key/value heads, d_mlp 14,336, untied output
    assert count(PRESETS["llama3-8b"]["config"])["total"] == llama_by_hand(128256, 4096, 32, 8, 32, 14336, False) \
        == 8_030_261_248


def test_endpoint_takes_every_component_the_core_builds(client):
    """What the core supports, through the query: grouped-query attention, RMSNorm, SwiGLU, no biases, an encoder
    with token types, an embedding norm and the MLM head; each total against a hand count and the real modules."""
    q = {"arch": "decoder", "vocab": 300, "d_model": 48, "n_heads": 6, "n_kv_heads": 2, "n_layers": 3, "d_mlp": 80,
         "act_fn": "swiglu", "pos_embed": "rotary", "norm": "pre", "norm_type": "rms", "tie_embeddings": "false",
         "attn_bias": "false", "attn_out_bias": "false", "mlp_bias": "false", "unembed_bias": "false"}
    out = client.get("/api/v1/param-count", params=q).json()
    assert out["total"] == llama_by_hand(300, 48, 6, 2, 3, 80, False)
    cfg = ModelConfig(vocab_size=300, d_model=48, n_heads=6, n_kv_heads=2, n_layers=3, d_mlp=80, act_fn="swiglu",
                      pos_embed="rotary", norm_type="rms", attn_bias=False, attn_out_bias=False, mlp_bias=False,
                      unembed_bias=False)
    assert out["total"] == numel(cfg) and out["breakdown"]["biases"] == 0
    assert out["breakdown"]["attention"] == 3 * (2 * 48 * 48 + 2 * 48 * 16)  # W_K, W_V: 2 heads of 8 dims
    # BERT-shaped: post-LN LayerNorm encoder, learned positions, 2 token types, an embedding norm, the MLM head
    d, m, V, L, n = 32, 64, 200, 2, 40
    q = {"arch": "encoder", "vocab": V, "d_model": d, "n_heads": 4, "n_layers": L, "d_mlp": m, "n_ctx": n,
         "act_fn": "gelu", "pos_embed": "learned", "norm": "post", "norm_type": "layer", "tie_embeddings": "true",
         "n_token_types": 2, "embed_norm": "true", "lm_head": "mlm", "n_kv_heads": ""}
    out = client.get("/api/v1/param-count", params=q).json()
    block = 4 * d * d + 4 * d + 2 * d * m + m + d + 2 * 2 * d  # attention + biases, FFN + biases, two LayerNorms
    by_hand = V * d + n * d + 2 * d + 2 * d + L * block + (d * d + d + 2 * d) + V  # + MLM dense, norm, b_U
    assert out["total"] == by_hand
    # head_dim apart from d_model / n_heads: W_Q, W_K, W_V are d × H·head_dim, W_O the reverse
    out = client.get("/api/v1/param-count", params={"d_model": 32, "n_heads": 4, "head_dim": 16, "n_layers": 1,
                                                    "attn_bias": "false", "attn_out_bias": "false"}).json()
    assert out["breakdown"]["attention"] == 4 * 32 * 4 * 16


def test_endpoint_says_what_to_change_for_an_impossible_config(client, error_of):
    e = error_of(client.get("/api/v1/param-count", params={"n_heads": 6, "n_kv_heads": 4, "d_model": 48}), 422)
    assert "n_kv_heads" in e["message"]
