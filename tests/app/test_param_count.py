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
