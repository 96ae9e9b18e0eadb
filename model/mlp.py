"""The position-wise feed-forward network: W_in → activation → W_out, or the gated SwiGLU form."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .hooks import HookSpec, add_hooks

ACTIVATIONS = {
    "relu": F.relu,
    "gelu": F.gelu,  # exact: x · Φ(x) with the erf (BERT, Pythia)
    "gelu_new": lambda x: F.gelu(x, approximate="tanh"),  # the tanh approximation (GPT-2)
    "silu": F.silu,  # x · sigmoid(x), a.k.a. swish (Marian's opus-mt models)
}

HOOKS = {
    "hook_pre": HookSpec(("pos", "d_mlp"), "hidden pre-activation",
                         "FFN hidden layer before the activation (the gate branch for SwiGLU)"),
    "hook_pre_linear": HookSpec(("pos", "d_mlp"), "linear branch",
                                "SwiGLU's linear branch x · W_in, multiplied by silu(gate)"),
    "hook_post": HookSpec(("pos", "d_mlp"), "hidden activation", "FFN hidden layer after the activation"),
}


class MLP(nn.Module):
    """W_in [d_model, d_mlp] → activation → W_out [d_mlp, d_model]. SwiGLU: silu(x·W_gate) ⊙ (x·W_in) → W_out."""

    kind = "mlp"

    def __init__(self, cfg):
        super().__init__()
        self.act_fn = cfg.act_fn
        gated = cfg.act_fn == "swiglu"
        self.W_in = nn.Parameter(torch.empty(cfg.d_model, cfg.d_mlp))
        self.b_in = nn.Parameter(torch.zeros(cfg.d_mlp)) if cfg.mlp_bias else None
        self.W_out = nn.Parameter(torch.empty(cfg.d_mlp, cfg.d_model))
        self.b_out = nn.Parameter(torch.zeros(cfg.d_model)) if cfg.mlp_bias else None
        nn.init.normal_(self.W_in, std=0.02)
        nn.init.normal_(self.W_out, std=0.02)
        if gated:
            self.W_gate = nn.Parameter(torch.empty(cfg.d_model, cfg.d_mlp))
            self.b_gate = nn.Parameter(torch.zeros(cfg.d_mlp)) if cfg.mlp_bias else None
            nn.init.normal_(self.W_gate, std=0.02)
        add_hooks(self, {k: v for k, v in HOOKS.items() if gated or k != "hook_pre_linear"})

    @staticmethod
    def _linear(x: torch.Tensor, W: torch.Tensor, b: torch.Tensor | None) -> torch.Tensor:
        return x @ W if b is None else x @ W + b

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.act_fn == "swiglu":
            pre = self.hook_pre(self._linear(x, self.W_gate, self.b_gate))
            linear = self.hook_pre_linear(self._linear(x, self.W_in, self.b_in))
            post = self.hook_post(F.silu(pre) * linear)
        else:
            pre = self.hook_pre(self._linear(x, self.W_in, self.b_in))
            post = self.hook_post(ACTIVATIONS[self.act_fn](pre))
        return self._linear(post, self.W_out, self.b_out)
