"""GPT-2 (model_type "gpt2"): learned positions, pre-LN, gelu_new, tied unembedding without a bias.

Hugging Face stores GPT-2's projections as Conv1D, weight [in, out]: c_attn [d, 3·d] holds Q | K | V side by
side, each head a contiguous run of d_head columns; c_proj [h·d_head, d] reads the heads concatenated.
"""
from __future__ import annotations

import einops

from ..config import ModelConfig
from .common import Weights, act_fn, require

MODEL_TYPES = ("gpt2",)
PREFIXES = ("transformer.",)


def config(hf) -> ModelConfig:
    require(not getattr(hf, "scale_attn_by_inverse_layer_idx", False), "scale_attn_by_inverse_layer_idx=True")
    require(getattr(hf, "scale_attn_weights", True), "scale_attn_weights=False")
    require(not getattr(hf, "add_cross_attention", False), "add_cross_attention=True")
    d = hf.n_embd
    return ModelConfig(arch="decoder", vocab_size=hf.vocab_size, d_model=d, n_heads=hf.n_head, n_layers=hf.n_layer,
                       d_mlp=hf.n_inner or 4 * d, n_ctx=hf.n_positions, act_fn=act_fn(hf.activation_function),
                       pos_embed="learned", norm="pre", tie_embeddings=bool(getattr(hf, "tie_word_embeddings", True)),
                       ln_eps=hf.layer_norm_epsilon, pad_id=hf.pad_token_id or 0, unembed_bias=False)


def weights(cfg: ModelConfig, w: Weights) -> dict:
    h = cfg.n_heads
    sd = {"embed.W_E": w["wte.weight"], "pos_embed.W_pos": w["wpe.weight"][: cfg.n_ctx]}
    for l in range(cfg.n_layers):
        src, dst = f"h.{l}.", f"stack.blocks.{l}."
        qkv_w = w[src + "attn.c_attn.weight"]  # [d, 3·d]
        qkv_b = w[src + "attn.c_attn.bias"]  # [3·d]
        for name, W, b in zip("QKV", qkv_w.chunk(3, dim=1), qkv_b.chunk(3)):
            sd[dst + f"attn.W_{name}"] = einops.rearrange(W, "d (h e) -> h d e", h=h)
            sd[dst + f"attn.b_{name}"] = einops.rearrange(b, "(h e) -> h e", h=h)
        sd[dst + "attn.W_O"] = einops.rearrange(w[src + "attn.c_proj.weight"], "(h e) d -> h e d", h=h)
        sd[dst + "attn.b_O"] = w[src + "attn.c_proj.bias"]
        for ln, hf_ln in (("ln1", "ln_1"), ("ln2", "ln_2")):
            sd[dst + f"{ln}.w"], sd[dst + f"{ln}.b"] = w[src + f"{hf_ln}.weight"], w[src + f"{hf_ln}.bias"]
        sd[dst + "mlp.W_in"], sd[dst + "mlp.b_in"] = w[src + "mlp.c_fc.weight"], w[src + "mlp.c_fc.bias"]
        sd[dst + "mlp.W_out"], sd[dst + "mlp.b_out"] = w[src + "mlp.c_proj.weight"], w[src + "mlp.c_proj.bias"]
    sd["stack.ln_final.w"], sd["stack.ln_final.b"] = w["ln_f.weight"], w["ln_f.bias"]
    if not cfg.tie_embeddings:
        sd["unembed.W_U"] = w["lm_head.weight"].T
    return sd
