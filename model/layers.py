"""The building blocks, each in its own file and each computed step by step so that every intermediate can be
named and shown; this module gathers them for existing imports.

Parameter names and shapes follow TransformerLens (W_Q: [n_heads, d_model, d_head], W_in: [d_model, d_mlp],
...). Tensors flowing through a block are [batch, pos, d_model]; hook names are listed in `model.glossary`.
"""
from __future__ import annotations

from .attention import NEG_INF, Attention, build_mask
from .block import Block
from .embeddings import Embed, MLMHead, TokenTypeEmbed, Unembed
from .mlp import ACTIVATIONS, MLP
from .norms import LayerNorm, RMSNorm, make_norm
from .positions import PosEmbed, Rotary, sinusoidal_halves_table, sinusoidal_table

__all__ = ["NEG_INF", "Attention", "build_mask", "Block", "Embed", "MLMHead", "TokenTypeEmbed", "Unembed",
           "ACTIVATIONS", "MLP", "LayerNorm", "RMSNorm", "make_norm", "PosEmbed", "Rotary",
           "sinusoidal_halves_table", "sinusoidal_table"]
