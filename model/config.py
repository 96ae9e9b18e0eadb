"""The one description of a model's shape and wiring. Everything else derives from it.

The defaults describe the course models (checkpoints in model/checkpoints keep loading with them); the
converters in model/convert/ fill in the other fields for Hugging Face families.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Literal

Arch = Literal["decoder", "encoder", "encoder_decoder"]
ActFn = Literal["relu", "gelu", "gelu_new", "silu", "swiglu"]
PosEmbed = Literal["sinusoidal", "sinusoidal_halves", "learned", "rotary", "none"]
NormPlacement = Literal["pre", "post", "none"]
NormType = Literal["layer", "rms"]
BlockKind = Literal["sequential", "parallel"]
MaskKind = Literal["causal", "padding", "none"]
LMHead = Literal["linear", "mlm"]
RopeScaling = Literal["default", "linear", "llama3"]

ARCHS = ("decoder", "encoder", "encoder_decoder")
ACT_FNS = ("relu", "gelu", "gelu_new", "silu", "swiglu")
POS_EMBEDS = ("sinusoidal", "sinusoidal_halves", "learned", "rotary", "none")


@dataclass(frozen=True)
class ModelConfig:
    arch: Arch = "decoder"  # decoder-only (GPT), encoder-only (BERT) or encoder-decoder (2017 translator, Marian)
    vocab_size: int = 64  # rows of the embedding matrix = columns of the logits (d_vocab)
    d_model: int = 64  # width of the residual stream
    n_heads: int = 4  # query heads per attention layer
    n_layers: int = 2  # blocks in a single-stack model; encoder blocks AND decoder blocks in an encoder-decoder
    d_mlp: int = 256  # hidden width of the feed-forward network
    n_ctx: int = 128  # longest sequence the model accepts (positions 0 .. n_ctx-1)
    act_fn: ActFn = "gelu"  # FFN non-linearity: gelu = erf form, gelu_new = tanh form; swiglu adds a gate matrix
    pos_embed: PosEmbed = "sinusoidal"  # how position enters: a table added to the stream (sinusoidal with sin/cos
    # interleaved, sinusoidal_halves = Marian's [sin | cos], learned W_pos), rotary q/k, or "none" (bag of words)
    norm: NormPlacement = "pre"  # norm before each sublayer (GPT-2), after the residual add (2017, BERT), or absent
    residual: bool = True  # False removes the skip connections: each sublayer's output replaces the stream
    mlp: bool = True  # False removes the feed-forward sublayer from every block
    self_attn_mask: MaskKind = "causal"  # mask of (decoder) self-attention; encoders always use "padding"
    tie_embeddings: bool = False  # True: the unembedding is the transpose of the token embedding
    ln_eps: float = 1e-5  # added to the variance (mean square for RMSNorm) before the square root
    pad_id: int = 0  # token id that padding masks hide from attention (when no explicit attention mask is given)
    # --- components beyond the course models (defaults = the course models' choice) ---
    norm_type: NormType = "layer"  # LayerNorm (centre, scale, γ and β) or RMSNorm (scale by the root mean square, γ)
    block: BlockKind = "sequential"  # parallel: attention and MLP both read the block's input (GPT-NeoX, GPT-J)
    head_dim: int | None = None  # d_head when it is not d_model // n_heads (some Llama-family models)
    n_kv_heads: int | None = None  # key/value heads for grouped-query attention; None = n_heads (ordinary MHA)
    rotary_dim: int | None = None  # rotary: how many of each head's dims rotate (first ones); None = all (d_head)
    rotary_base: float = 10000.0  # rotary: theta, the base of the rotation frequencies
    rope_scaling: RopeScaling = "default"  # rotary frequencies as trained, all divided by rope_factor ("linear"),
    # or Llama 3.x's: low frequencies divided by rope_factor, high ones kept, a smooth blend between ("llama3")
    rope_factor: float = 1.0  # "linear" / "llama3": how much the context was stretched
    rope_low_freq_factor: float = 1.0  # "llama3": wavelengths over rope_original_ctx / this are divided by rope_factor
    rope_high_freq_factor: float = 4.0  # "llama3": wavelengths under rope_original_ctx / this are kept
    rope_original_ctx: int = 8192  # "llama3": the context the model was pretrained with
    sliding_window: int | None = None  # causal attention sees at most this many keys back (Mistral); None = all
    attn_bias: bool = True  # b_Q, b_K, b_V exist (GPT-2, BERT, Qwen2) or not (Llama)
    attn_out_bias: bool = True  # b_O exists
    mlp_bias: bool = True  # b_in, b_out (and b_gate) exist
    unembed_bias: bool = True  # b_U exists (course models, BERT's MLM bias, Marian's final_logits_bias)
    n_token_types: int = 0  # rows of the token-type (segment) embedding added to the input (BERT: 2); 0 = none
    embed_scale: float = 1.0  # token embeddings are multiplied by this (Marian: sqrt(d_model))
    embed_norm: bool = False  # a norm on the summed embeddings before block 0 (BERT)
    lm_head: LMHead = "linear"  # linear: unembed the final stream; mlm: dense -> act -> norm -> unembed (BERT)
    share_embeddings: bool = True  # encoder-decoder: encoder and decoder read the same W_E (else separate tables)
    src_vocab_size: int | None = None  # encoder-decoder with separate tables: rows of the encoder's; None = vocab_size

    @property
    def d_head(self) -> int:
        return self.head_dim if self.head_dim is not None else self.d_model // self.n_heads

    @property
    def kv_heads(self) -> int:
        """Key/value heads: n_kv_heads under grouped-query attention, else n_heads."""
        return self.n_kv_heads if self.n_kv_heads is not None else self.n_heads

    @property
    def rotary_dims(self) -> int:
        return self.rotary_dim if self.rotary_dim is not None else self.d_head

    @property
    def final_norm(self) -> bool:
        """A pre-norm stack ends on a norm (ln_final); post-norm blocks already end on one."""
        return self.norm == "pre"

    def __post_init__(self) -> None:
        if self.head_dim is None and self.d_model % self.n_heads:
            raise ValueError(f"d_model={self.d_model} is not divisible by n_heads={self.n_heads}")
        for name in ("vocab_size", "d_model", "n_heads", "n_layers", "d_mlp", "n_ctx"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        choices = {"arch": ARCHS, "act_fn": ACT_FNS, "pos_embed": POS_EMBEDS, "norm": ("pre", "post", "none"),
                   "self_attn_mask": ("causal", "padding", "none"), "norm_type": ("layer", "rms"),
                   "block": ("sequential", "parallel"), "lm_head": ("linear", "mlm"),
                   "rope_scaling": ("default", "linear", "llama3")}
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"unknown {name} {getattr(self, name)!r}; one of {', '.join(allowed)}")
        if self.n_heads % self.kv_heads:
            raise ValueError(f"n_heads={self.n_heads} is not a multiple of n_kv_heads={self.kv_heads}")
        if self.pos_embed == "rotary" and (self.rotary_dims % 2 or not 0 < self.rotary_dims <= self.d_head):
            raise ValueError(f"rotary_dim={self.rotary_dims} must be even and in 2..d_head={self.d_head}")
        if self.block == "parallel" and (self.norm == "post" or not self.mlp):
            raise ValueError("a parallel block needs pre-norm (or none) and an MLP")
        if self.n_token_types < 0:
            raise ValueError(f"n_token_types must be >= 0, got {self.n_token_types}")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    def replace(self, **changes) -> "ModelConfig":
        return dataclasses.replace(self, **changes)
