"""How position enters the model: a table added to the token embeddings (sinusoidal, learned, or none), or
rotary embeddings that turn each query and key by a position-dependent angle inside attention."""
from __future__ import annotations

import math

import torch
from torch import nn


def sinusoidal_table(n_ctx: int, d_model: int) -> torch.Tensor:
    """Interleaved (the 2017 paper, the course models): PE[pos, 2i] = sin(pos / 10000^(2i/d)),
    PE[pos, 2i+1] = cos(same angle)."""
    pos = torch.arange(n_ctx, dtype=torch.float32)[:, None]
    freq = torch.exp(-math.log(10000.0) * torch.arange(0, d_model, 2, dtype=torch.float32) / d_model)
    table = torch.zeros(n_ctx, d_model)
    table[:, 0::2] = torch.sin(pos * freq)
    table[:, 1::2] = torch.cos(pos * freq)[:, : d_model // 2]
    return table


def sinusoidal_halves_table(n_ctx: int, d_model: int) -> torch.Tensor:
    """Halves (Marian): the same angles pos / 10000^(2i/d), all sines first, then all cosines:
    PE[pos, i] = sin(angle_i) for i < ceil(d/2), PE[pos, ceil(d/2) + i] = cos(angle_i). Computed in float64 and
    rounded once, as Marian does, so long positions keep their precision."""
    pos = torch.arange(n_ctx, dtype=torch.float64)[:, None]
    half = (d_model + 1) // 2
    angle = pos / torch.pow(torch.tensor(10000.0, dtype=torch.float64),
                            2 * torch.arange(half, dtype=torch.float64) / d_model)
    return torch.cat([angle.sin(), angle.cos()[:, : d_model - half]], dim=1).float()


class PosEmbed(nn.Module):
    """An additive position table: learned W_pos (a parameter), a fixed sinusoidal W_pos (a buffer, derived from
    the config, never saved), or zeros for "none". Rotary models have no table (see `Rotary`)."""

    def __init__(self, cfg):
        super().__init__()
        self.kind, self.n_ctx, self.d_model = cfg.pos_embed, cfg.n_ctx, cfg.d_model
        if cfg.pos_embed == "learned":
            self.W_pos = nn.Parameter(torch.empty(cfg.n_ctx, cfg.d_model))
            nn.init.normal_(self.W_pos, std=0.02)
        else:
            self.register_buffer("W_pos", self._table(), persistent=False)

    def _table(self) -> torch.Tensor:
        if self.kind == "sinusoidal":
            return sinusoidal_table(self.n_ctx, self.d_model)
        if self.kind == "sinusoidal_halves":
            return sinusoidal_halves_table(self.n_ctx, self.d_model)
        return torch.zeros(self.n_ctx, self.d_model)

    def after_load(self) -> None:
        """Recompute the fixed table on the CPU (after the model was built on the meta device)."""
        if self.kind != "learned":
            self.W_pos = self._table()

    def forward(self, length: int) -> torch.Tensor:
        return self.W_pos[:length]


class Rotary(nn.Module):
    """Rotary position embeddings, GPT-NeoX "rotate half" layout (also Hugging Face Llama's): the first
    `rotary_dim` dims of each head form pairs (i, i + rotary_dim/2), each pair turned by the angle
    pos · base^(-2i/rotary_dim); the remaining dims pass through unchanged (partial rotary, Pythia)."""

    def __init__(self, cfg):
        super().__init__()
        self.dim, self.base = cfg.rotary_dims, cfg.rotary_base
        self.scaling = (cfg.rope_scaling, cfg.rope_factor, cfg.rope_low_freq_factor, cfg.rope_high_freq_factor,
                        cfg.rope_original_ctx)
        self.register_buffer("inv_freq", self._inv_freq(), persistent=False)

    def _inv_freq(self) -> torch.Tensor:
        inv_freq = 1.0 / (self.base ** (torch.arange(0, self.dim, 2, dtype=torch.float32) / self.dim))
        kind, factor, low, high, original = self.scaling
        if kind == "linear":  # positions squeezed by `factor`: every angle divided by it
            return inv_freq / factor
        if kind == "llama3":  # long wavelengths stretched by `factor`, short ones kept, a linear blend between
            wavelen = 2 * math.pi / inv_freq
            blend = ((original / wavelen - low) / (high - low)).clamp(0.0, 1.0)  # 0: stretched .. 1: kept
            return (1 - blend) * inv_freq / factor + blend * inv_freq
        return inv_freq

    def after_load(self) -> None:
        self.inv_freq = self._inv_freq()

    def cos_sin(self, length: int, device=None) -> tuple[torch.Tensor, torch.Tensor]:
        """cos and sin of every position's angles, [pos, rotary_dim] (each angle twice: both halves of a pair)."""
        angles = torch.arange(length, device=device, dtype=torch.float32)[:, None] * self.inv_freq[None]
        angles = torch.cat([angles, angles], dim=-1)
        return angles.cos(), angles.sin()

    @staticmethod
    def rotate(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        """x [batch, pos, head, d_head] turned by the angles of its positions (cos, sin: [pos, rotary_dim])."""
        dim = cos.shape[-1]
        rot, rest = x[..., :dim], x[..., dim:]
        first, second = rot[..., : dim // 2], rot[..., dim // 2:]
        turned = torch.cat([-second, first], dim=-1)  # rotate_half: (a, b) -> (-b, a) for each pair
        c, s = cos[:, None, :], sin[:, None, :]  # broadcast over heads
        out = rot * c + turned * s
        return out if rest.shape[-1] == 0 else torch.cat([out, rest], dim=-1)
