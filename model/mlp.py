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

ACT_TITLES = {"relu": "ReLU", "gelu": "GELU", "gelu_new": "GELU, tanh form", "silu": "SiLU",
              "swiglu": "SwiGLU: silu(gate) ⊙ linear"}
ACT_TEXTS = {
    "relu": "max(0, x) element by element: negative pre-activations become exactly 0.",
    "gelu": "GELU, x · Φ(x) with the exact normal CDF (erf), element by element: large negative values go to 0, "
            "large positive ones pass almost unchanged.",
    "gelu_new": "GELU in its tanh form (GPT-2's gelu_new): 0.5 · x · (1 + tanh(√(2/π) · (x + 0.044715 · x³))), element "
                "by element; within about 1e-3 of the exact GELU.",
    "silu": "SiLU (swish), x · sigmoid(x), element by element: smooth, slightly negative just below 0.",
    "swiglu": "silu(gate) ⊙ (x · W_in): the gate decides, unit by unit, how much of the linear branch passes.",
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
        self.act_fn, self.d_model, self.d_mlp, self.bias = cfg.act_fn, cfg.d_model, cfg.d_mlp, cfg.mlp_bias
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

    def step_info(self, leaf: str) -> dict:
        """Title and sentence of each capture point as a step of the forward pass (model/steps.py)."""
        d, m = self.d_model, self.d_mlp
        b = lambda name: f" + {name}" if self.bias else ""  # noqa: E731
        if leaf == "hook_pre" and self.act_fn == "swiglu":
            return {"title": f"FFN gate projection (d_model {d} → d_mlp {m})",
                    "text": f"x · W_gate{b('b_gate')}: the gate branch of SwiGLU, one {m}-wide vector per token; "
                            "its silu scales the linear branch (next steps)."}
        if leaf == "hook_pre":
            return {"title": f"FFN up-projection (d_model {d} → d_mlp {m})",
                    "text": f"x · W_in{b('b_in')}: every token is projected on its own to the {m}-wide hidden layer."}
        if leaf == "hook_pre_linear":
            return {"title": f"FFN up-projection, linear branch (d_model {d} → d_mlp {m})",
                    "text": f"x · W_in{b('b_in')}: the branch that the gate multiplies, unit by unit."}
        return {"title": f"Activation ({ACT_TITLES[self.act_fn]})", "text": ACT_TEXTS[self.act_fn]}

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
