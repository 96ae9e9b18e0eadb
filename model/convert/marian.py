"""Marian (model_type "marian", the opus-mt translators): the 2017 encoder-decoder with post-LN blocks,
sinusoidal positions laid out [sin | cos] (not interleaved), token embeddings scaled by sqrt(d_model),
final_logits_bias added to the tied output, and the decoder started by <pad> (decoder_start_token_id).

Positions are 0, 1, ... for every sequence (transformers adds no padding offset for Marian) and the table is
not stored in the checkpoint: the core recomputes it (model/positions.py). Separate encoder / decoder
embedding tables (share_encoder_decoder_embeddings=False) load; different encoder and decoder depths,
widths or head counts, and separate source / target vocabularies do not.
"""
from __future__ import annotations

import math

import einops

from ..config import ModelConfig
from .common import Weights, act_fn, require

MODEL_TYPES = ("marian",)
PREFIXES = ("model.",)


def config(hf) -> ModelConfig:
    for enc, dec in (("encoder_layers", "decoder_layers"), ("encoder_attention_heads", "decoder_attention_heads"),
                     ("encoder_ffn_dim", "decoder_ffn_dim")):
        require(getattr(hf, enc) == getattr(hf, dec), f"{enc}={getattr(hf, enc)} != {dec}={getattr(hf, dec)}")
    share = bool(getattr(hf, "share_encoder_decoder_embeddings", True))
    target_vocab = hf.vocab_size if share else (getattr(hf, "decoder_vocab_size", None) or hf.vocab_size)
    require(target_vocab == hf.vocab_size, "separate source and target vocabularies (decoder_vocab_size "
                                           f"{target_vocab} != vocab_size {hf.vocab_size})")
    d = hf.d_model
    return ModelConfig(arch="encoder_decoder", vocab_size=target_vocab, d_model=d, n_heads=hf.encoder_attention_heads,
                       n_layers=hf.encoder_layers, d_mlp=hf.encoder_ffn_dim, n_ctx=hf.max_position_embeddings,
                       act_fn=act_fn(hf.activation_function), pos_embed="sinusoidal_halves", norm="post",
                       self_attn_mask="causal", tie_embeddings=bool(getattr(hf, "tie_word_embeddings", True)),
                       ln_eps=1e-5, pad_id=hf.pad_token_id, embed_scale=math.sqrt(d) if hf.scale_embedding else 1.0,
                       share_embeddings=share, src_vocab_size=None if share else hf.vocab_size)


def _attention(w: Weights, src: str, dst: str, h: int, sd: dict) -> None:
    for name, proj in (("Q", "q_proj"), ("K", "k_proj"), ("V", "v_proj")):
        sd[dst + f"W_{name}"] = einops.rearrange(w[src + f"{proj}.weight"], "(h e) d -> h d e", h=h)
        sd[dst + f"b_{name}"] = einops.rearrange(w[src + f"{proj}.bias"], "(h e) -> h e", h=h)
    sd[dst + "W_O"] = einops.rearrange(w[src + "out_proj.weight"], "d (h e) -> h e d", h=h)
    sd[dst + "b_O"] = w[src + "out_proj.bias"]


def _norm(w: Weights, src: str, dst: str, sd: dict) -> None:
    sd[dst + ".w"], sd[dst + ".b"] = w[src + ".weight"], w[src + ".bias"]


def weights(cfg: ModelConfig, w: Weights) -> dict:
    h = cfg.n_heads
    if cfg.share_embeddings:
        sd = {"embed.W_E": w["shared.weight"] if "shared.weight" in w else w["decoder.embed_tokens.weight"]}
    else:
        sd = {"embed.W_E": w["decoder.embed_tokens.weight"], "encoder_embed.W_E": w["encoder.embed_tokens.weight"]}
    for stack in ("encoder", "decoder"):
        for l in range(cfg.n_layers):
            src, dst = f"{stack}.layers.{l}.", f"{stack}.blocks.{l}."
            _attention(w, src + "self_attn.", dst + "attn.", h, sd)
            _norm(w, src + "self_attn_layer_norm", dst + "ln1", sd)
            if stack == "decoder":
                _attention(w, src + "encoder_attn.", dst + "cross_attn.", h, sd)
                _norm(w, src + "encoder_attn_layer_norm", dst + "ln_cross", sd)
            sd[dst + "mlp.W_in"], sd[dst + "mlp.b_in"] = w[src + "fc1.weight"].T, w[src + "fc1.bias"]
            sd[dst + "mlp.W_out"], sd[dst + "mlp.b_out"] = w[src + "fc2.weight"].T, w[src + "fc2.bias"]
            _norm(w, src + "final_layer_norm", dst + "ln2", sd)
    bias = w.get("final_logits_bias")  # a buffer transformers may leave out (then zeros)
    sd["unembed.b_U"] = bias.reshape(-1) if bias is not None else sd["embed.W_E"].new_zeros(cfg.vocab_size)
    if not cfg.tie_embeddings:
        sd["unembed.W_U"] = w["lm_head.weight"].T
    return sd
