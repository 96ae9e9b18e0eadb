"""Into and out of the residual stream: token embedding, token-type (segment) embedding, the unembedding,
and BERT's masked-LM head that transforms the final stream before unembedding it."""
from __future__ import annotations

import math

import torch
from torch import nn

from .hooks import HookSpec, add_hooks
from .mlp import ACT_TEXTS, ACT_TITLES, ACTIVATIONS
from .norms import NORM_TITLES, make_norm, placed


class Embed(nn.Module):
    """W_E [d_vocab, d_model]: one row per token, times `embed_scale` (Marian: sqrt(d_model))."""

    def __init__(self, cfg, vocab_size: int | None = None):
        super().__init__()
        self.scale = cfg.embed_scale
        self.W_E = nn.Parameter(torch.empty(vocab_size or cfg.vocab_size, cfg.d_model))
        nn.init.normal_(self.W_E, std=0.02 * math.sqrt(cfg.d_model) / 4)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        rows = self.W_E[tokens]
        return rows if self.scale == 1.0 else rows * self.scale


class TokenTypeEmbed(nn.Module):
    """W_token_type [n_token_types, d_model]: BERT's segment embedding (sentence A = 0, sentence B = 1)."""

    def __init__(self, cfg):
        super().__init__()
        self.W_token_type = nn.Parameter(torch.empty(cfg.n_token_types, cfg.d_model))
        nn.init.normal_(self.W_token_type, std=0.02)

    def forward(self, token_types: torch.Tensor) -> torch.Tensor:
        return self.W_token_type[token_types]


class Unembed(nn.Module):
    """Residual stream -> logits: x · W_U (+ b_U). With tied embeddings there is no W_U: W_Eᵀ is used."""

    def __init__(self, cfg):
        super().__init__()
        if not cfg.tie_embeddings:
            self.W_U = nn.Parameter(torch.empty(cfg.d_model, cfg.vocab_size))
            nn.init.normal_(self.W_U, std=0.02)
        self.b_U = nn.Parameter(torch.zeros(cfg.vocab_size)) if cfg.unembed_bias else None

    def forward(self, x: torch.Tensor, tied_W_E: torch.Tensor | None = None) -> torch.Tensor:
        out = x @ (tied_W_E.T if tied_W_E is not None else self.W_U)
        return out if self.b_U is None else out + self.b_U


class MLMHead(nn.Module):
    """BERT's masked-LM transform before the unembedding: x · W + b → activation → norm."""

    kind = "mlm_head"
    HOOKS = {
        "hook_dense": HookSpec(("pos", "d_model"), "MLM dense", "the MLM head's dense layer x · W + b, before "
                                                                "its activation"),
        "hook_act": HookSpec(("pos", "d_model"), "MLM activation", "the MLM head's dense layer after the "
                                                                   "activation, before its norm"),
    }

    def __init__(self, cfg):
        super().__init__()
        self.act_fn = "silu" if cfg.act_fn == "swiglu" else cfg.act_fn
        self.act = ACTIVATIONS[self.act_fn]
        self.W = nn.Parameter(torch.empty(cfg.d_model, cfg.d_model))
        self.b = nn.Parameter(torch.zeros(cfg.d_model))
        nn.init.normal_(self.W, std=0.02)
        add_hooks(self, {"hook_dense": self.HOOKS["hook_dense"], "hook_act": self.HOOKS["hook_act"]})
        self.ln = placed(make_norm(cfg), f"MLM head: {NORM_TITLES[cfg.norm_type].replace('Layer', 'layer')}")
        self.d_model = cfg.d_model

    def step_info(self, leaf: str) -> dict:
        """Title and sentence of the head's capture points as steps of the forward pass (model/steps.py)."""
        if leaf == "hook_dense":
            return {"title": f"MLM head: dense layer (d_model {self.d_model} → {self.d_model})",
                    "text": "Before the unembedding, the masked-LM head transforms each position: x · W + b."}
        return {"title": f"MLM head: activation ({ACT_TITLES[self.act_fn]})", "text": ACT_TEXTS[self.act_fn]}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.ln(self.hook_act(self.act(self.hook_dense(x @ self.W + self.b))))
