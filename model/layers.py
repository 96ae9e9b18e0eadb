"""The building blocks, each computed step by step so that every intermediate can be named and shown.

Parameter names and shapes follow TransformerLens (W_Q: [n_heads, d_model, d_head], W_in: [d_model, d_mlp],
...). Tensors flowing through a block are [batch, pos, d_model]; hook names are listed in `model.glossary`.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .config import ModelConfig
from .hooks import HookPoint

NEG_INF = float("-inf")


class LayerNorm(nn.Module):
    """y = (x - mean) / sqrt(var + eps) * w + b over the last dim, written out (biased variance, like nn.LayerNorm)."""

    def __init__(self, d_model: int, eps: float):
        super().__init__()
        self.eps = eps
        self.w = nn.Parameter(torch.ones(d_model))  # γ
        self.b = nn.Parameter(torch.zeros(d_model))  # β
        self.hook_mean = HookPoint()  # [pos]
        self.hook_scale = HookPoint()  # [pos]  sqrt(var + eps)
        self.hook_normalized = HookPoint()  # [pos, d_model]  (x - mean) / scale, before γ and β (as TransformerLens)
        self.hook_out = HookPoint()  # [pos, d_model]  normalized · γ + β, the layer's output (extra name)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = self.hook_mean(x.mean(-1))
        centered = x - mean[..., None]
        scale = self.hook_scale((centered.pow(2).mean(-1) + self.eps).sqrt())
        normalized = self.hook_normalized(centered / scale[..., None])
        return self.hook_out(normalized * self.w + self.b)


def build_mask(kind: str, q_len: int, k_tokens: torch.Tensor, pad_id: int) -> torch.Tensor | None:
    """Boolean [batch, 1, q_len, k_len] mask, True where a query may look at a key; None for no mask.

    causal: key position <= query position. padding: keys that are padding are hidden. none: nothing hidden.
    """
    batch, k_len = k_tokens.shape
    if kind == "none":
        return None
    if kind == "causal":
        allowed = torch.ones(q_len, k_len, dtype=torch.bool, device=k_tokens.device).tril()
        return allowed.expand(batch, 1, q_len, k_len)
    if kind == "padding":
        return (k_tokens != pad_id)[:, None, None, :].expand(batch, 1, q_len, k_len)
    raise ValueError(f"unknown mask {kind!r}")


class Attention(nn.Module):
    """Multi-head attention with every step separate: project → q·kᵀ → ÷√d_head → mask → softmax → ·V →
    per-head W_O → sum over heads (= concat heads then one W_O)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        h, d, dh = cfg.n_heads, cfg.d_model, cfg.d_head
        self.n_heads, self.d_head = h, dh
        self.W_Q = nn.Parameter(torch.empty(h, d, dh))
        self.W_K = nn.Parameter(torch.empty(h, d, dh))
        self.W_V = nn.Parameter(torch.empty(h, d, dh))
        self.W_O = nn.Parameter(torch.empty(h, dh, d))
        self.b_Q = nn.Parameter(torch.zeros(h, dh))
        self.b_K = nn.Parameter(torch.zeros(h, dh))
        self.b_V = nn.Parameter(torch.zeros(h, dh))
        self.b_O = nn.Parameter(torch.zeros(d))
        for w in (self.W_Q, self.W_K, self.W_V, self.W_O):
            nn.init.normal_(w, std=0.02)
        self.hook_q = HookPoint()  # [pos, head, d_head]
        self.hook_k = HookPoint()  # [key_pos, head, d_head]
        self.hook_v = HookPoint()  # [key_pos, head, d_head]
        self.hook_dot = HookPoint()  # [head, query_pos, key_pos]  q·k, unscaled
        self.hook_scaled = HookPoint()  # [head, query_pos, key_pos]  q·k / √d_head, before the mask
        self.hook_attn_scores = HookPoint()  # [head, query_pos, key_pos]  scaled and masked (-inf where hidden)
        self.hook_pattern = HookPoint()  # [head, query_pos, key_pos]  softmax over keys; rows sum to 1
        self.hook_z = HookPoint()  # [pos, head, d_head]  pattern · V
        self.hook_result = HookPoint()  # [pos, head, d_model]  each head's z through its slice of W_O

    def forward(self, x_q: torch.Tensor, x_kv: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        q = self.hook_q(torch.einsum("bpd,hde->bphe", x_q, self.W_Q) + self.b_Q)
        k = self.hook_k(torch.einsum("bpd,hde->bphe", x_kv, self.W_K) + self.b_K)
        v = self.hook_v(torch.einsum("bpd,hde->bphe", x_kv, self.W_V) + self.b_V)
        dot = self.hook_dot(torch.einsum("bqhe,bkhe->bhqk", q, k))
        scaled = self.hook_scaled(dot / math.sqrt(self.d_head))
        scores = scaled if mask is None else scaled.masked_fill(~mask, NEG_INF)
        scores = self.hook_attn_scores(scores)
        pattern = self.hook_pattern(scores.softmax(dim=-1))
        z = self.hook_z(torch.einsum("bhqk,bkhe->bqhe", pattern, v))
        result = self.hook_result(torch.einsum("bqhe,hed->bqhd", z, self.W_O))
        return result.sum(dim=2) + self.b_O


class MLP(nn.Module):
    """Position-wise feed-forward: W_in → activation → W_out. SwiGLU: silu(x·W_gate) ⊙ (x·W_in) → W_out."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.act_fn = cfg.act_fn
        self.W_in = nn.Parameter(torch.empty(cfg.d_model, cfg.d_mlp))
        self.b_in = nn.Parameter(torch.zeros(cfg.d_mlp))
        self.W_out = nn.Parameter(torch.empty(cfg.d_mlp, cfg.d_model))
        self.b_out = nn.Parameter(torch.zeros(cfg.d_model))
        nn.init.normal_(self.W_in, std=0.02)
        nn.init.normal_(self.W_out, std=0.02)
        if cfg.act_fn == "swiglu":
            self.W_gate = nn.Parameter(torch.empty(cfg.d_model, cfg.d_mlp))
            self.b_gate = nn.Parameter(torch.zeros(cfg.d_mlp))
            nn.init.normal_(self.W_gate, std=0.02)
            self.hook_pre_linear = HookPoint()  # [pos, d_mlp]  x·W_in, the multiplied (linear) branch
        self.hook_pre = HookPoint()  # [pos, d_mlp]  before the activation (the gate branch for swiglu)
        self.hook_post = HookPoint()  # [pos, d_mlp]  after the activation (after the gating for swiglu)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.act_fn == "swiglu":
            pre = self.hook_pre(x @ self.W_gate + self.b_gate)
            linear = self.hook_pre_linear(x @ self.W_in + self.b_in)
            post = self.hook_post(F.silu(pre) * linear)
        else:
            pre = self.hook_pre(x @ self.W_in + self.b_in)
            post = self.hook_post(F.relu(pre) if self.act_fn == "relu" else F.gelu(pre))
        return post @ self.W_out + self.b_out


def sinusoidal_table(n_ctx: int, d_model: int) -> torch.Tensor:
    """PE[pos, 2i] = sin(pos / 10000^(2i/d)), PE[pos, 2i+1] = cos(same angle)."""
    pos = torch.arange(n_ctx, dtype=torch.float32)[:, None]
    freq = torch.exp(-math.log(10000.0) * torch.arange(0, d_model, 2, dtype=torch.float32) / d_model)
    table = torch.zeros(n_ctx, d_model)
    table[:, 0::2] = torch.sin(pos * freq)
    table[:, 1::2] = torch.cos(pos * freq)[:, : d_model // 2]
    return table


class Embed(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.W_E = nn.Parameter(torch.empty(cfg.vocab_size, cfg.d_model))
        nn.init.normal_(self.W_E, std=0.02 * math.sqrt(cfg.d_model) / 4)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.W_E[tokens]


class PosEmbed(nn.Module):
    """Learned table W_pos (a parameter), fixed sinusoidal table W_pos (a buffer), or zeros for "none"."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.kind = cfg.pos_embed
        if cfg.pos_embed == "learned":
            self.W_pos = nn.Parameter(torch.empty(cfg.n_ctx, cfg.d_model))
            nn.init.normal_(self.W_pos, std=0.02)
        else:
            table = sinusoidal_table(cfg.n_ctx, cfg.d_model)
            table = table if cfg.pos_embed == "sinusoidal" else torch.zeros_like(table)
            self.register_buffer("W_pos", table, persistent=False)  # derived from the config, never saved

    def forward(self, length: int) -> torch.Tensor:
        return self.W_pos[:length]


class Block(nn.Module):
    """One transformer layer: self-attention, optional cross-attention (decoder of an encoder-decoder), FFN.

    pre-LN:  x = x + sublayer(LN(x))      post-LN: x = LN(x + sublayer(x))      none: x = x + sublayer(x)
    Without residuals the sublayer output replaces the stream: x = sublayer(...).
    """

    def __init__(self, cfg: ModelConfig, cross: bool = False):
        super().__init__()
        self.norm, self.residual, self.use_mlp = cfg.norm, cfg.residual, cfg.mlp
        make_ln = (lambda: LayerNorm(cfg.d_model, cfg.ln_eps)) if cfg.norm != "none" else (lambda: nn.Identity())
        self.hook_resid_pre = HookPoint()  # [pos, d_model]
        self.ln1 = make_ln()
        self.attn = Attention(cfg)
        self.hook_attn_out = HookPoint()  # [pos, d_model]
        self.hook_resid_mid = HookPoint()  # [pos, d_model]
        self.cross = cross
        if cross:
            self.ln_cross = make_ln()
            self.cross_attn = Attention(cfg)
            self.hook_cross_attn_out = HookPoint()  # [pos, d_model]
            self.hook_resid_mid_cross = HookPoint()  # [pos, d_model]
        if cfg.mlp:
            self.ln2 = make_ln()
            self.mlp = MLP(cfg)
            self.hook_mlp_out = HookPoint()  # [pos, d_model]
        self.hook_resid_post = HookPoint()  # [pos, d_model]

    def _sublayer(self, x: torch.Tensor, ln: nn.Module, fn, out_hook: HookPoint) -> torch.Tensor:
        out = out_hook(fn(ln(x) if self.norm == "pre" else x))
        y = x + out if self.residual else out
        return ln(y) if self.norm == "post" else y

    def forward(self, x, self_mask, memory=None, memory_mask=None):
        x = self.hook_resid_pre(x)
        x = self.hook_resid_mid(self._sublayer(x, self.ln1, lambda h: self.attn(h, h, self_mask), self.hook_attn_out))
        if self.cross:
            cross = lambda h: self.cross_attn(h, memory, memory_mask)  # noqa: E731
            x = self.hook_resid_mid_cross(self._sublayer(x, self.ln_cross, cross, self.hook_cross_attn_out))
        if self.use_mlp:
            x = self._sublayer(x, self.ln2, self.mlp, self.hook_mlp_out)
        return self.hook_resid_post(x)
