"""Norms, written out so that every statistic can be shown: LayerNorm (centre, divide by the standard deviation,
then γ and β) and RMSNorm (divide by the root mean square, then γ; no centring, no β)."""
from __future__ import annotations

import torch
from torch import nn

from .hooks import HookSpec, add_hooks

POS_D = ("pos", "d_model")


class LayerNorm(nn.Module):
    """y = (x - mean) / sqrt(var + eps) * w + b over the last dim (biased variance, like nn.LayerNorm)."""

    kind = "layer_norm"
    HOOKS = {
        "hook_mean": HookSpec(("pos",), "mean", "mean over d_model of the layer norm's input, per token"),
        "hook_scale": HookSpec(("pos",), "scale", "sqrt(variance + eps) of the norm's input, per token"),
        "hook_normalized": HookSpec(POS_D, "normalized", "(x - mean) / scale: zero mean, unit variance, "
                                                         "before γ and β"),
        "hook_out": HookSpec(POS_D, "norm output", "layer norm output: normalized · γ + β (what the next "
                                                   "sublayer reads)"),
    }

    def __init__(self, d_model: int, eps: float):
        super().__init__()
        self.eps = eps
        self.w = nn.Parameter(torch.ones(d_model))  # γ
        self.b = nn.Parameter(torch.zeros(d_model))  # β
        add_hooks(self, self.HOOKS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        var, mean = torch.var_mean(x, dim=-1, unbiased=False)  # one pass: the biased variance and the mean
        mean = self.hook_mean(mean)
        scale = self.hook_scale((var + self.eps).sqrt())
        normalized = self.hook_normalized((x - mean[..., None]) / scale[..., None])
        return self.hook_out(torch.addcmul(self.b, normalized, self.w))


class RMSNorm(nn.Module):
    """y = x / sqrt(mean(x²) + eps) * w over the last dim (Llama's norm: no mean is subtracted, no β)."""

    kind = "rms_norm"
    HOOKS = {
        "hook_scale": HookSpec(("pos",), "scale", "sqrt(mean(x²) + eps): the root mean square of the norm's "
                                                  "input, per token"),
        "hook_normalized": HookSpec(POS_D, "normalized", "x / scale: unit root mean square, before γ"),
        "hook_out": HookSpec(POS_D, "norm output", "RMS norm output: normalized · γ (what the next sublayer "
                                                   "reads)"),
    }

    def __init__(self, d_model: int, eps: float):
        super().__init__()
        self.eps = eps
        self.w = nn.Parameter(torch.ones(d_model))  # γ
        add_hooks(self, self.HOOKS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = self.hook_scale((x.pow(2).mean(-1) + self.eps).sqrt())
        normalized = self.hook_normalized(x / scale[..., None])
        return self.hook_out(normalized * self.w)


def make_norm(cfg, d_model: int | None = None) -> nn.Module:
    """The configured norm over `d_model` (default cfg.d_model)."""
    d = d_model or cfg.d_model
    return RMSNorm(d, cfg.ln_eps) if cfg.norm_type == "rms" else LayerNorm(d, cfg.ln_eps)
