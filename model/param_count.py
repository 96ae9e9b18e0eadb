"""Parameter count of a ModelConfig by arithmetic, per component, without building the model.

Matches `sum(p.numel() for p in build_model(cfg).parameters())` exactly (tests/app/test_param_count.py
checks it on a grid of configurations and on the presets, built on the meta device). With d = d_model,
V = vocab_size, h·d_head = d, m = d_mlp:
  attention layer: W_Q, W_K, W_V, W_O = 4·d²  (+ biases b_Q, b_K, b_V: 3·d, b_O: d)
  FFN: W_in, W_out = 2·d·m, SwiGLU adds W_gate: +d·m  (+ biases b_in: m, b_out: d, SwiGLU b_gate: m)
  layer norm: γ and β = 2·d;  embedding W_E = V·d;  learned positions W_pos = n_ctx·d (sinusoidal: a buffer, 0)
  unembedding W_U = d·V, or 0 when tied to W_E; its bias b_U = V is always there.
"""
from __future__ import annotations

from .config import ModelConfig

COMPONENTS = ("embeddings", "positions", "attention", "ffn", "layer_norms", "biases", "unembedding")


def _attention(cfg: ModelConfig) -> tuple[int, int]:
    inner = cfg.n_heads * cfg.d_head
    return 4 * cfg.d_model * inner, 3 * inner + cfg.d_model  # (weights, biases)


def _ffn(cfg: ModelConfig) -> tuple[int, int]:
    mats = 3 if cfg.act_fn == "swiglu" else 2
    bias = cfg.d_mlp + cfg.d_model + (cfg.d_mlp if cfg.act_fn == "swiglu" else 0)
    return mats * cfg.d_model * cfg.d_mlp, bias


def block(cfg: ModelConfig, cross: bool) -> dict[str, int]:
    """Parameters of one block by component (self-attention, cross-attention if `cross`, FFN if cfg.mlp)."""
    n_attn = 2 if cross else 1
    aw, ab = _attention(cfg)
    out = {"attention": n_attn * aw, "ffn": 0, "layer_norms": 0, "biases": n_attn * ab}
    n_ln = n_attn
    if cfg.mlp:
        fw, fb = _ffn(cfg)
        out["ffn"], out["biases"] = fw, out["biases"] + fb
        n_ln += 1
    out["layer_norms"] = n_ln * 2 * cfg.d_model if cfg.norm != "none" else 0
    return out


def count(cfg: ModelConfig) -> dict:
    """{total, breakdown: {component: n}, per_layer}."""
    d, V = cfg.d_model, cfg.vocab_size
    bd = dict.fromkeys(COMPONENTS, 0)
    bd["embeddings"] = V * d
    bd["positions"] = cfg.n_ctx * d if cfg.pos_embed == "learned" else 0
    bd["unembedding"] = 0 if cfg.tie_embeddings else d * V
    bd["biases"] = V  # b_U
    stacks = [False, True] if cfg.arch == "encoder_decoder" else [False]
    per_layer = 0
    for cross in stacks:
        b = block(cfg, cross)
        per_layer += sum(b.values())
        for k, v in b.items():
            bd[k] += cfg.n_layers * v
        if cfg.norm == "pre":  # final layer norm of the stack (post-LN blocks already end on one)
            bd["layer_norms"] += 2 * d
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
                              n_ctx=1024, act_fn="gelu", pos_embed="learned", norm="pre", tie_embeddings=True),
        "published": 124_439_808,
        "note": "GPT-2 small as released (124,439,808 = Hugging Face GPT2Model; the paper said 117M). The unembedding "
                "is tied to the token embedding, so it adds nothing. Our model also has an unembedding bias b_U "
                "(50,257) which GPT-2 does not, so our total is 50,257 higher.",
    },
    "bert-base": {
        "config": ModelConfig(arch="decoder", vocab_size=30522, d_model=768, n_heads=12, n_layers=12, d_mlp=3072,
                              n_ctx=512, act_fn="gelu", pos_embed="learned", norm="post", self_attn_mask="padding",
                              tie_embeddings=True),
        "published": 109_482_240,
        "note": "BERT-base (110M; 109,482,240 = Hugging Face BertModel). Our config has no encoder-only arch, so this "
                "is a post-LN stack with a padding (bidirectional) mask. BERT also has segment embeddings (2×768 = "
                "1,536), a layer norm on the embeddings (1,536) and the pooler (768×768 + 768 = 590,592) which our "
                "config lacks; we add the tied MLM output bias b_U (30,522). Net: ours is 563,142 lower.",
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
