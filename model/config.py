"""The one description of a model's shape and wiring. Everything else derives from it."""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Literal

Arch = Literal["decoder", "encoder_decoder"]
ActFn = Literal["relu", "gelu", "swiglu"]
PosEmbed = Literal["sinusoidal", "learned", "none"]
NormPlacement = Literal["pre", "post", "none"]
MaskKind = Literal["causal", "padding", "none"]


@dataclass(frozen=True)
class ModelConfig:
    arch: Arch = "decoder"  # decoder-only (GPT-style) or encoder-decoder (2017-style translator)
    vocab_size: int = 64  # rows of the embedding matrix = columns of the logits (d_vocab)
    d_model: int = 64  # width of the residual stream
    n_heads: int = 4  # attention heads per attention layer; d_head = d_model // n_heads
    n_layers: int = 2  # blocks in a decoder-only model; encoder blocks AND decoder blocks in an encoder-decoder
    d_mlp: int = 256  # hidden width of the feed-forward network
    n_ctx: int = 128  # longest sequence the model accepts (positions 0 .. n_ctx-1)
    act_fn: ActFn = "gelu"  # FFN non-linearity; swiglu adds a third (gate) matrix
    pos_embed: PosEmbed = "sinusoidal"  # how position enters the residual stream ("none" = bag of words)
    norm: NormPlacement = "pre"  # layer norm before each sublayer (GPT-2), after the residual add (2017), or absent
    residual: bool = True  # False removes the skip connections: each sublayer's output replaces the stream
    mlp: bool = True  # False removes the feed-forward sublayer from every block
    self_attn_mask: MaskKind = "causal"  # mask of (decoder) self-attention; encoders always use "padding"
    tie_embeddings: bool = False  # True: the unembedding is the transpose of the token embedding
    ln_eps: float = 1e-5  # added to the variance before the square root in layer norm
    pad_id: int = 0  # token id that padding masks hide from attention

    @property
    def d_head(self) -> int:
        return self.d_model // self.n_heads

    def __post_init__(self) -> None:
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model={self.d_model} is not divisible by n_heads={self.n_heads}")
        for name in ("vocab_size", "d_model", "n_heads", "n_layers", "d_mlp", "n_ctx"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.arch not in ("decoder", "encoder_decoder"):
            raise ValueError(f"unknown arch {self.arch!r}")
        if self.act_fn not in ("relu", "gelu", "swiglu"):
            raise ValueError(f"unknown act_fn {self.act_fn!r}")
        if self.pos_embed not in ("sinusoidal", "learned", "none"):
            raise ValueError(f"unknown pos_embed {self.pos_embed!r}")
        if self.norm not in ("pre", "post", "none"):
            raise ValueError(f"unknown norm {self.norm!r}")
        if self.self_attn_mask not in ("causal", "padding", "none"):
            raise ValueError(f"unknown self_attn_mask {self.self_attn_mask!r}")

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
