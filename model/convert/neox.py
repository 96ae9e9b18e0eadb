"""GPT-NeoX / Pythia (model_type "gpt_neox"): rotary positions on the first rotary_pct of each head's dims
(rotate-half), parallel attention + MLP (use_parallel_residual), LayerNorm, untied embed_out.

The fused query_key_value [3·h·d_head, d] is laid out per head: rows of head h are [q (d_head) | k | v], so it
is split as "(h three e) d" (not Q | K | V side by side as GPT-2's c_attn is).
"""
from __future__ import annotations

import einops

from ..config import ModelConfig
from .common import Weights, act_fn, attr, rotary_fields

MODEL_TYPES = ("gpt_neox",)
PREFIXES = ("gpt_neox.",)


def config(hf) -> ModelConfig:
    d, h = hf.hidden_size, hf.num_attention_heads
    d_head = d // h
    bias = bool(attr(hf, "attention_bias", default=True))
    return ModelConfig(arch="decoder", vocab_size=hf.vocab_size, d_model=d, n_heads=h, n_layers=hf.num_hidden_layers,
                       d_mlp=hf.intermediate_size, n_ctx=hf.max_position_embeddings, act_fn=act_fn(hf.hidden_act),
                       **rotary_fields(hf, d_head), norm="pre", block="parallel" if hf.use_parallel_residual else "sequential",
                       tie_embeddings=bool(getattr(hf, "tie_word_embeddings", False)), ln_eps=hf.layer_norm_eps,
                       pad_id=hf.pad_token_id or 0, attn_bias=bias, attn_out_bias=bias, unembed_bias=False)


def weights(cfg: ModelConfig, w: Weights) -> dict:
    h = cfg.n_heads
    sd = {"embed.W_E": w["embed_in.weight"]}
    for l in range(cfg.n_layers):
        src, dst = f"layers.{l}.", f"stack.blocks.{l}."
        qkv = einops.rearrange(w[src + "attention.query_key_value.weight"], "(h three e) d -> three h d e",
                               h=h, three=3)
        sd[dst + "attn.W_Q"], sd[dst + "attn.W_K"], sd[dst + "attn.W_V"] = qkv
        sd[dst + "attn.W_O"] = einops.rearrange(w[src + "attention.dense.weight"], "d (h e) -> h e d", h=h)
        if cfg.attn_bias:
            b = einops.rearrange(w[src + "attention.query_key_value.bias"], "(h three e) -> three h e", h=h, three=3)
            sd[dst + "attn.b_Q"], sd[dst + "attn.b_K"], sd[dst + "attn.b_V"] = b
            sd[dst + "attn.b_O"] = w[src + "attention.dense.bias"]
        for ln, hf_ln in (("ln1", "input_layernorm"), ("ln2", "post_attention_layernorm")):
            sd[dst + f"{ln}.w"], sd[dst + f"{ln}.b"] = w[src + f"{hf_ln}.weight"], w[src + f"{hf_ln}.bias"]
        sd[dst + "mlp.W_in"], sd[dst + "mlp.b_in"] = w[src + "mlp.dense_h_to_4h.weight"].T, w[src + "mlp.dense_h_to_4h.bias"]
        sd[dst + "mlp.W_out"], sd[dst + "mlp.b_out"] = w[src + "mlp.dense_4h_to_h.weight"].T, w[src + "mlp.dense_4h_to_h.bias"]
    sd["stack.ln_final.w"], sd["stack.ln_final.b"] = w["final_layer_norm.weight"], w["final_layer_norm.bias"]
    if not cfg.tie_embeddings:
        sd["unembed.W_U"] = w["embed_out.weight"].T
    return sd
