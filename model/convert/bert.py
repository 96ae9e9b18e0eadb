"""BERT (model_type "bert"): encoder-only, post-LN, learned positions + token-type (segment) embeddings and a
LayerNorm on their sum, and the masked-LM head (dense -> activation -> LayerNorm -> the tied decoder + bias).

query / key / value / attention.output.dense / intermediate / output are nn.Linear weights [out, in], each head
a contiguous run of d_head rows. Old checkpoints name LayerNorm parameters gamma / beta. The pooler and the
next-sentence head are not part of the masked-LM model and are left out; a checkpoint without the MLM head
(a bare BertModel, a classifier) is refused, since the core needs a head that predicts tokens.
"""
from __future__ import annotations

import einops

from ..config import ModelConfig
from .common import Unsupported, Weights, act_fn, require

MODEL_TYPES = ("bert",)
PREFIXES = ("bert.",)
ALIASES = {"LayerNorm.gamma": "LayerNorm.weight", "LayerNorm.beta": "LayerNorm.bias"}


def config(hf) -> ModelConfig:
    require(not getattr(hf, "is_decoder", False), "BERT as a decoder (is_decoder=True)")
    require(not getattr(hf, "add_cross_attention", False), "BERT with cross-attention")
    kind = getattr(hf, "position_embedding_type", "absolute") or "absolute"
    require(kind == "absolute", f"position_embedding_type {kind!r} (only absolute positions)")
    return ModelConfig(arch="encoder", vocab_size=hf.vocab_size, d_model=hf.hidden_size,
                       n_heads=hf.num_attention_heads, n_layers=hf.num_hidden_layers, d_mlp=hf.intermediate_size,
                       n_ctx=hf.max_position_embeddings, act_fn=act_fn(hf.hidden_act), pos_embed="learned",
                       norm="post", self_attn_mask="padding", tie_embeddings=bool(getattr(hf, "tie_word_embeddings",
                                                                                          True)),
                       ln_eps=hf.layer_norm_eps, pad_id=hf.pad_token_id or 0, n_token_types=hf.type_vocab_size,
                       embed_norm=True, lm_head="mlm")


def weights(cfg: ModelConfig, w: Weights) -> dict:
    if "cls.predictions.transform.dense.weight" not in w:
        raise Unsupported("a BERT checkpoint without the masked-LM head (cls.predictions.*): load a "
                          "BertForMaskedLM / BertForPreTraining checkpoint such as bert-base-uncased")
    h = cfg.n_heads
    e = "embeddings."
    sd = {"embed.W_E": w[e + "word_embeddings.weight"], "pos_embed.W_pos": w[e + "position_embeddings.weight"],
          "token_type_embed.W_token_type": w[e + "token_type_embeddings.weight"],
          "stack.ln_embed.w": w[e + "LayerNorm.weight"], "stack.ln_embed.b": w[e + "LayerNorm.bias"]}
    for l in range(cfg.n_layers):
        src, dst = f"encoder.layer.{l}.", f"stack.blocks.{l}."
        for name, proj in (("Q", "query"), ("K", "key"), ("V", "value")):
            sd[dst + f"attn.W_{name}"] = einops.rearrange(w[src + f"attention.self.{proj}.weight"], "(h e) d -> h d e",
                                                          h=h)
            sd[dst + f"attn.b_{name}"] = einops.rearrange(w[src + f"attention.self.{proj}.bias"], "(h e) -> h e", h=h)
        sd[dst + "attn.W_O"] = einops.rearrange(w[src + "attention.output.dense.weight"], "d (h e) -> h e d", h=h)
        sd[dst + "attn.b_O"] = w[src + "attention.output.dense.bias"]
        sd[dst + "ln1.w"], sd[dst + "ln1.b"] = w[src + "attention.output.LayerNorm.weight"], w[
            src + "attention.output.LayerNorm.bias"]
        sd[dst + "mlp.W_in"], sd[dst + "mlp.b_in"] = w[src + "intermediate.dense.weight"].T, w[
            src + "intermediate.dense.bias"]
        sd[dst + "mlp.W_out"], sd[dst + "mlp.b_out"] = w[src + "output.dense.weight"].T, w[src + "output.dense.bias"]
        sd[dst + "ln2.w"], sd[dst + "ln2.b"] = w[src + "output.LayerNorm.weight"], w[src + "output.LayerNorm.bias"]
    p = "cls.predictions."
    sd["mlm_head.W"], sd["mlm_head.b"] = w[p + "transform.dense.weight"].T, w[p + "transform.dense.bias"]
    sd["mlm_head.ln.w"], sd["mlm_head.ln.b"] = w[p + "transform.LayerNorm.weight"], w[p + "transform.LayerNorm.bias"]
    # the decoder's own bias is what transformers adds; old checkpoints store it only as cls.predictions.bias
    sd["unembed.b_U"] = w[p + "decoder.bias"] if p + "decoder.bias" in w else w[p + "bias"]
    if not cfg.tie_embeddings:
        sd["unembed.W_U"] = w[p + "decoder.weight"].T
    return sd
