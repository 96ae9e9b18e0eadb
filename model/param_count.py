"""Parameter count of a ModelConfig, per component, read from the components themselves.

`count` builds one block per stack (and the embedding, norm and head modules) on the meta device, so no memory
is used, buckets every parameter by what it is, and multiplies the block's share by n_layers: the figure is
whatever the modules declare, never a second formula (tests/app/test_param_count.py compares it with the full
model and with Hugging Face's own modules). Components:
  embeddings: W_E (and a separate encoder W_E, the token-type table W_token_type);  positions: learned W_pos
  attention: W_Q, W_K, W_V, W_O (W_K, W_V have n_kv_heads heads under grouped-query attention)
  ffn: W_in, W_out (+ W_gate for SwiGLU);  layer_norms: γ (and β) of every norm
  biases: every b_* (attention, FFN, b_U, the MLM head's);  unembedding: W_U (0 when tied) and BERT's MLM dense W
"""
from __future__ import annotations

import re

from .config import ModelConfig
from .norms import LayerNorm, RMSNorm

COMPONENTS = ("embeddings", "positions", "attention", "ffn", "layer_norms", "biases", "unembedding")
_BLOCK = re.compile(r"^(stack|encoder|decoder)\.blocks\.0\.")


def component_of(name: str, is_norm: bool) -> str:
    """The bucket of a parameter, from its state-dict name (and whether its module is a norm)."""
    leaf = name.rsplit(".", 1)[-1]
    if is_norm:
        return "layer_norms"
    if leaf in ("W_E", "W_token_type"):
        return "embeddings"
    if leaf == "W_pos":
        return "positions"
    if leaf in ("W_Q", "W_K", "W_V", "W_O"):
        return "attention"
    if leaf in ("W_in", "W_out", "W_gate"):
        return "ffn"
    if leaf.startswith("b_") or name == "mlm_head.b":
        return "biases"
    if leaf == "W_U" or name == "mlm_head.W":
        return "unembedding"
    raise ValueError(f"parameter {name} has no component")


def count(cfg: ModelConfig) -> dict:
    """{total, breakdown: {component: n}, per_layer}."""
    from .transformer import build_model  # the model imports nothing from here; avoid a cycle at import time
    model = build_model(cfg.replace(n_layers=1), device="meta")
    norms = {f"{path}.{p}" if path else p for path, m in model.named_modules() if isinstance(m, (LayerNorm, RMSNorm))
             for p, _ in m.named_parameters(recurse=False)}
    bd = dict.fromkeys(COMPONENTS, 0)
    per_layer = 0
    for name, p in model.named_parameters():
        in_block = bool(_BLOCK.match(name))
        n = p.numel() * (cfg.n_layers if in_block else 1)
        per_layer += p.numel() if in_block else 0
        bd[component_of(name, name in norms)] += n
    return {"total": sum(bd.values()), "breakdown": bd, "per_layer": per_layer}


# Presets: the configuration in our ModelConfig terms, the figure usually quoted, and why ours differs.
PRESETS: dict[str, dict] = {
    "transformer-base-2017": {
        "config": ModelConfig(arch="encoder_decoder", vocab_size=37000, d_model=512, n_heads=8, n_layers=6, d_mlp=2048,
                              n_ctx=512, act_fn="relu", pos_embed="sinusoidal", norm="post", tie_embeddings=True),
        "published": 65_000_000,
        "note": "Vaswani et al. 2017, Table 3, 'base': 65M, with a shared ~37000-token BPE vocabulary and one "
                "embedding matrix shared by encoder, decoder and the pre-softmax layer (tie_embeddings). The "
                "architecture as described gives 63,119,496 here (44.2M in the blocks + 18.9M embedding, incl. our "
                "unembedding bias b_U of 37,000); the paper gives no breakdown of its 65M, and the ~1.9M gap is "
                "not explained by any component it describes (likely the exact vocabulary size and rounding).",
    },
    "gpt2-small": {
        "config": ModelConfig(arch="decoder", vocab_size=50257, d_model=768, n_heads=12, n_layers=12, d_mlp=3072,
                              n_ctx=1024, act_fn="gelu_new", pos_embed="learned", norm="pre", tie_embeddings=True,
                              unembed_bias=False),
        "published": 124_439_808,
        "note": "GPT-2 small as released (124,439,808 = Hugging Face GPT2LMHeadModel; the paper said 117M). The "
                "unembedding is tied to the token embedding, so it adds nothing, and there is no unembedding bias: "
                "the configuration the gpt2 converter (model/convert/gpt2.py) produces, so the count is exact.",
    },
    "bert-base": {
        "config": ModelConfig(arch="encoder", vocab_size=30522, d_model=768, n_heads=12, n_layers=12, d_mlp=3072,
                              n_ctx=512, act_fn="gelu", pos_embed="learned", norm="post", self_attn_mask="padding",
                              tie_embeddings=True, n_token_types=2, embed_norm=True, lm_head="mlm", ln_eps=1e-12),
        "published": 109_482_240,
        "note": "BERT-base (110M; 109,482,240 = Hugging Face BertModel, which includes the pooler). Ours is the "
                "masked-LM model (BertForMaskedLM, what the bert converter loads): no pooler (-590,592) but the MLM "
                "head's dense layer (+590,592), its layer norm (+1,536) and output bias b_U (+30,522); the output "
                "matrix is tied to the token embedding. Net: 32,058 more, 109,514,298.",
    },
    "llama3-8b": {
        "config": ModelConfig(arch="decoder", vocab_size=128256, d_model=4096, n_heads=32, n_kv_heads=8, n_layers=32,
                              d_mlp=14336, n_ctx=8192, act_fn="swiglu", pos_embed="rotary", rotary_base=500000.0,
                              norm="pre", norm_type="rms", tie_embeddings=False, attn_bias=False,
                              attn_out_bias=False, mlp_bias=False, unembed_bias=False, self_attn_mask="causal"),
        "published": 8_030_261_248,
        "note": "Meta Llama 3 8B as released (model card: 8B; 8,030,261,248 = its published configuration counted "
                "by hand, as Hugging Face's LlamaForCausalLM holds it): grouped-query attention (32 query heads, 8 "
                "key/value heads, so W_K and W_V are a quarter of W_Q), a SwiGLU FFN (three matrices), RMSNorm (γ "
                "only), no biases, rotary positions (no parameters) and an untied output matrix. The llama converter "
                "(model/convert/llama.py) produces this configuration, so the count is exact.",
    },
    "gpt3": {
        "config": ModelConfig(arch="decoder", vocab_size=50257, d_model=12288, n_heads=96, n_layers=96, d_mlp=49152,
                              n_ctx=2048, act_fn="gelu", pos_embed="learned", norm="pre", tie_embeddings=True),
        "published": 175_000_000_000,
        "note": "GPT-3 175B (Brown et al. 2020, Table 2.1: 96 layers, d_model 12288, 96 heads, context 2048). The "
                "paper rounds to 175B; this arithmetic gives about 174.6B (with tied embeddings and our extra "
                "b_U). GPT-3's alternating sparse attention does not change the parameter count.",
    },
}
