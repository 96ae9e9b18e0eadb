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

    NAME = "Layer norm"

    def __init__(self, d_model: int, eps: float):
        super().__init__()
        self.eps, self.d_model = eps, d_model
        self.w = nn.Parameter(torch.ones(d_model))  # γ
        self.b = nn.Parameter(torch.zeros(d_model))  # β
        add_hooks(self, self.HOOKS)
        placed(self)

    def step_info(self, leaf: str) -> dict:
        """Title and sentence of each capture point as a step of the forward pass (model/steps.py). The mean and
        the scale are drawn with the normalized value (their step is that one)."""
        if leaf in ("hook_mean", "hook_scale"):
            what = "mean" if leaf == "hook_mean" else "√(var + ε)"
            return {"title": f"{self.label}: {what}", "part_of": "hook_normalized",
                    "text": f"The {what} of each token's {self.d_model} values (drawn with the normalized stream)."}
        if leaf == "hook_normalized":
            return {"title": f"{self.label}: normalize", "with": ["hook_mean", "hook_scale"],
                    "text": f"Each token's vector is shifted to mean 0 and scaled to variance 1 over its {self.d_model} "
                            f"dimensions: (x − mean) / √(var + ε), with ε = {self.eps:g}; every token on its own."}
        return out_step(self, "× γ + β", "The standardized vector is multiplied by the learned γ (w) and shifted by "
                                         "the learned β (b), dimension by dimension.")

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

    NAME = "RMS norm"

    def __init__(self, d_model: int, eps: float):
        super().__init__()
        self.eps, self.d_model = eps, d_model
        self.w = nn.Parameter(torch.ones(d_model))  # γ
        add_hooks(self, self.HOOKS)
        placed(self)

    def step_info(self, leaf: str) -> dict:
        if leaf == "hook_scale":
            return {"title": f"{self.label}: root mean square", "part_of": "hook_normalized",
                    "text": f"√(mean(x²) + ε) of each token's {self.d_model} values (drawn with the normalized stream)."}
        if leaf == "hook_normalized":
            return {"title": f"{self.label}: divide by the RMS", "with": ["hook_scale"],
                    "text": f"Each token's vector is divided by √(mean(x²) + ε) over its {self.d_model} dimensions "
                            f"(ε = {self.eps:g}), so its root mean square is 1. Unlike LayerNorm, no mean is "
                            "subtracted."}
        return out_step(self, "× γ", "The normalized vector is multiplied by the learned γ (w), dimension by "
                                     "dimension; RMSNorm has no β.")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = self.hook_scale((x.pow(2).mean(-1) + self.eps).sqrt())
        normalized = self.hook_normalized(x / scale[..., None])
        return self.hook_out(normalized * self.w)


def placed(norm: nn.Module, label: str | None = None, out_title: str | None = None, out_text: str = "") -> nn.Module:
    """Say where a norm sits, for its steps' titles: `label` (default "Layer norm" / "RMS norm"); `out_title`
    replaces the title of its output step (e.g. the encoder's last norm: "Encoder output (memory)"), `out_text`
    is added to that step's sentence. The parent that builds the norm calls this; returns the norm."""
    if hasattr(norm, "NAME"):
        norm.label = label or norm.NAME
        norm.out_title, norm.out_text = out_title, out_text
    return norm


def out_step(norm: nn.Module, what: str, text: str) -> dict:
    return {"title": norm.out_title or f"{norm.label}: {what}",
            "text": text + (" " + norm.out_text if norm.out_text else " What the next step reads.")}


NORM_TITLES = {"layer": LayerNorm.NAME, "rms": RMSNorm.NAME}  # norm_type -> the name its steps' titles use


def make_norm(cfg, d_model: int | None = None) -> nn.Module:
    """The configured norm over `d_model` (default cfg.d_model)."""
    d = d_model or cfg.d_model
    return RMSNorm(d, cfg.ln_eps) if cfg.norm_type == "rms" else LayerNorm(d, cfg.ln_eps)
