"""The Llama family (model_type "llama" — Llama, SmolLM —, "qwen2", "mistral"): RMSNorm, rotary positions
(rotate-half over the whole head; default, linear or Llama 3.x frequency scaling), grouped-query attention, SwiGLU, no biases except Qwen2's on q, k, v (and
Llama's attention_bias / mlp_bias where set); Mistral's sliding window.

q_proj [h·d_head, d] and k_proj / v_proj [n_kv_heads·d_head, d] are nn.Linear weights [out, in], each head a
contiguous run of d_head rows; o_proj [d, h·d_head]; gate_proj / up_proj [d_mlp, d]; down_proj [d, d_mlp].
"""
from __future__ import annotations

import einops

from ..config import ModelConfig
from .common import Weights, act_fn, attr, require, rotary_fields

MODEL_TYPES = ("llama", "qwen2", "mistral")
PREFIXES = ("model.",)


def config(hf) -> ModelConfig:
    h = hf.num_attention_heads
    d_head = attr(hf, "head_dim", default=hf.hidden_size // h)
    window = None
    if hf.model_type == "qwen2":
        layer_types = set(getattr(hf, "layer_types", None) or ["full_attention"])
        require(layer_types == {"full_attention"}, "Qwen2 sliding-window layers (use_sliding_window=True)")
        qkv_bias, out_bias, mlp_bias = True, False, False
    elif hf.model_type == "mistral":
        window = getattr(hf, "sliding_window", None)
        qkv_bias = out_bias = mlp_bias = False
    else:
        qkv_bias = out_bias = bool(getattr(hf, "attention_bias", False))
        mlp_bias = bool(getattr(hf, "mlp_bias", False))
    return ModelConfig(arch="decoder", vocab_size=hf.vocab_size, d_model=hf.hidden_size, n_heads=h,
                       n_layers=hf.num_hidden_layers, d_mlp=hf.intermediate_size, n_ctx=hf.max_position_embeddings,
                       act_fn=act_fn(hf.hidden_act, gated=True), **rotary_fields(hf, d_head), head_dim=d_head,
                       n_kv_heads=attr(hf, "num_key_value_heads", default=h), norm="pre", norm_type="rms",
                       ln_eps=hf.rms_norm_eps, tie_embeddings=bool(getattr(hf, "tie_word_embeddings", False)),
                       pad_id=hf.pad_token_id or 0, attn_bias=qkv_bias, attn_out_bias=out_bias, mlp_bias=mlp_bias,
                       unembed_bias=False, sliding_window=window)


def weights(cfg: ModelConfig, w: Weights) -> dict:
    h, kv = cfg.n_heads, cfg.kv_heads
    sd = {"embed.W_E": w["embed_tokens.weight"]}
    for l in range(cfg.n_layers):
        src, dst = f"layers.{l}.", f"stack.blocks.{l}."
        for name, proj, heads in (("Q", "q_proj", h), ("K", "k_proj", kv), ("V", "v_proj", kv)):
            sd[dst + f"attn.W_{name}"] = einops.rearrange(w[src + f"self_attn.{proj}.weight"], "(h e) d -> h d e",
                                                          h=heads)
            if cfg.attn_bias:
                sd[dst + f"attn.b_{name}"] = einops.rearrange(w[src + f"self_attn.{proj}.bias"], "(h e) -> h e",
                                                              h=heads)
        sd[dst + "attn.W_O"] = einops.rearrange(w[src + "self_attn.o_proj.weight"], "d (h e) -> h e d", h=h)
        if cfg.attn_out_bias:
            sd[dst + "attn.b_O"] = w[src + "self_attn.o_proj.bias"]
        sd[dst + "ln1.w"] = w[src + "input_layernorm.weight"]
        sd[dst + "ln2.w"] = w[src + "post_attention_layernorm.weight"]
        for ours, proj in (("gate", "gate_proj"), ("in", "up_proj"), ("out", "down_proj")):
            sd[dst + f"mlp.W_{ours}"] = w[src + f"mlp.{proj}.weight"].T
            if cfg.mlp_bias:
                sd[dst + f"mlp.b_{ours}"] = w[src + f"mlp.{proj}.bias"]
    sd["stack.ln_final.w"] = w["norm.weight"]
    if not cfg.tie_embeddings:
        sd["unembed.W_U"] = w["lm_head.weight"].T
    return sd
