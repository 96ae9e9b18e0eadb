"""Multi-head attention written out step by step, with grouped-query attention, optional biases and rotary
positions; and the boolean masks it applies.

GQA shapes (as TransformerLens's GroupedQueryAttention without ungroup_gqa): W_K, W_V are
[n_kv_heads, d_model, d_head], hook_k / hook_v / hook_rot_k are [key_pos, kv_head, d_head] (kv_head =
n_kv_heads); query head h reads key/value head h // (n_heads / n_kv_heads) (repeat_interleave), so the scores,
pattern and z keep one row per query head.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from .hooks import HookSpec, add_hooks
from .positions import Rotary

NEG_INF = float("-inf")
QK = ("head", "query_pos", "key_pos")

HOOKS = {
    "hook_q": HookSpec(("pos", "head", "d_head"), "queries", "queries: x · W_Q + b_Q, per head"),
    "hook_k": HookSpec(("key_pos", "head", "d_head"), "keys", "keys: x · W_K + b_K, per head (for "
                                                              "cross-attention, from the encoder output)"),
    "hook_v": HookSpec(("key_pos", "head", "d_head"), "values", "values: x · W_V + b_V, per head (for "
                                                                "cross-attention, from the encoder output)"),
    "hook_rot_q": HookSpec(("pos", "head", "d_head"), "rotated queries",
                           "queries after the rotary position rotation (the first rotary_dim dims turned by "
                           "an angle that grows with the position)"),
    "hook_rot_k": HookSpec(("key_pos", "head", "d_head"), "rotated keys",
                           "keys after the rotary position rotation; q·k then depends on the distance between "
                           "the two positions"),
    "hook_dot": HookSpec(QK, "q·k", "q · k for every query/key pair, before scaling"),
    "hook_scaled": HookSpec(QK, "scaled", "q · k / sqrt(d_head), before the mask"),
    "hook_attn_scores": HookSpec(QK, "masked scores", "scaled scores after the mask; hidden pairs are -inf "
                                                      "(null in JSON)"),
    "hook_pattern": HookSpec(QK, "attention pattern", "attention weights: softmax of the scores over keys; "
                                                      "each row sums to 1 (0 for a padding query that may see "
                                                      "no key)"),
    "hook_z": HookSpec(("pos", "head", "d_head"), "weighted values", "pattern · V: each head's weighted mix "
                                                                     "of values"),
    "hook_result": HookSpec(("pos", "head", "d_model"), "per-head output",
                            "each head's z through its slice of W_O (their sum + b_O = attn_out)"),
}


def build_mask(kind: str, q_len: int, k_tokens: torch.Tensor, pad_id: int | None,
               key_mask: torch.Tensor | None = None, window: int | None = None) -> torch.Tensor | None:
    """Boolean [batch, 1, q_len, k_len] mask, True where a query may look at a key; None for no mask.

    causal: key position <= query position (and, with `window`, > query position - window). padding: keys
    that are padding are hidden. none: nothing hidden. `key_mask` [batch, k_len] (1 = real token, 0 = padding,
    Hugging Face's attention_mask) replaces the pad-id test and is also applied to causal masks; without it a
    padding mask hides the keys equal to `pad_id`.
    """
    batch, k_len = k_tokens.shape
    keys = None if key_mask is None else key_mask.bool()[:, None, None, :]
    if kind == "none":
        return None if keys is None else keys.expand(batch, 1, q_len, k_len)
    if kind == "causal":
        allowed = torch.ones(q_len, k_len, dtype=torch.bool, device=k_tokens.device).tril(k_len - q_len)
        if window is not None:
            allowed &= ~torch.ones_like(allowed).tril(k_len - q_len - window)
        allowed = allowed[None, None]
        return (allowed & keys if keys is not None else allowed).expand(batch, 1, q_len, k_len)
    if kind == "padding":
        if keys is None:
            keys = (k_tokens != pad_id)[:, None, None, :]
        return keys.expand(batch, 1, q_len, k_len)
    raise ValueError(f"unknown mask {kind!r}")


def _optional(shape: tuple[int, ...], present: bool) -> nn.Parameter | None:
    return nn.Parameter(torch.zeros(shape)) if present else None


class Attention(nn.Module):
    """Project → (rotate) → q·kᵀ → ÷√d_head → mask → softmax → ·V → per-head W_O → sum over heads (= concat
    heads then one W_O). W_Q [n_heads, d_model, d_head], W_K/W_V [n_kv_heads, d_model, d_head],
    W_O [n_heads, d_head, d_model]; biases are absent (None) where the config says so."""

    kind = "attention"

    def __init__(self, cfg, rotary: bool = False):
        super().__init__()
        h, kv, d, dh = cfg.n_heads, cfg.kv_heads, cfg.d_model, cfg.d_head
        self.n_heads, self.n_kv_heads, self.d_head = h, kv, dh
        self.group = h // kv
        self.W_Q = nn.Parameter(torch.empty(h, d, dh))
        self.W_K = nn.Parameter(torch.empty(kv, d, dh))
        self.W_V = nn.Parameter(torch.empty(kv, d, dh))
        self.W_O = nn.Parameter(torch.empty(h, dh, d))
        self.b_Q = _optional((h, dh), cfg.attn_bias)
        self.b_K = _optional((kv, dh), cfg.attn_bias)
        self.b_V = _optional((kv, dh), cfg.attn_bias)
        self.b_O = _optional((d,), cfg.attn_out_bias)
        for w in (self.W_Q, self.W_K, self.W_V, self.W_O):
            nn.init.normal_(w, std=0.02)
        self.rotary = rotary
        specs = {k: v for k, v in HOOKS.items() if rotary or k not in ("hook_rot_q", "hook_rot_k")}
        if self.group > 1:  # grouped-query attention: keys and values have their own (fewer) heads
            for name in ("hook_k", "hook_v", "hook_rot_k"):
                if name in specs:
                    specs[name] = specs[name].with_dims("key_pos", "kv_head", "d_head")
        add_hooks(self, specs)

    @staticmethod
    def _project(x: torch.Tensor, W: torch.Tensor, b: torch.Tensor | None) -> torch.Tensor:
        out = torch.einsum("bpd,hde->bphe", x, W)
        return out if b is None else out + b

    def forward(self, x_q: torch.Tensor, x_kv: torch.Tensor, mask: torch.Tensor | None,
                rope: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
        q = self.hook_q(self._project(x_q, self.W_Q, self.b_Q))
        k = self.hook_k(self._project(x_kv, self.W_K, self.b_K))
        v = self.hook_v(self._project(x_kv, self.W_V, self.b_V))
        if self.rotary:
            cos, sin = rope
            q = self.hook_rot_q(Rotary.rotate(q, cos[-q.shape[1]:], sin[-q.shape[1]:]))
            k = self.hook_rot_k(Rotary.rotate(k, cos, sin))
        if self.group > 1:  # query head h reads key/value head h // group
            k, v = k.repeat_interleave(self.group, dim=2), v.repeat_interleave(self.group, dim=2)
        dot = self.hook_dot(torch.einsum("bqhe,bkhe->bhqk", q, k))
        scaled = self.hook_scaled(dot / math.sqrt(self.d_head))
        scores = scaled if mask is None else scaled.masked_fill(~mask, NEG_INF)
        scores = self.hook_attn_scores(scores)
        pattern = scores.softmax(dim=-1)
        if mask is not None:  # a query that may see no key at all (left padding) gets an all-zero row, not NaN
            empty = ~mask.any(dim=-1, keepdim=True)
            if empty.any():
                pattern = pattern.masked_fill(empty, 0.0)
        pattern = self.hook_pattern(pattern)
        z = self.hook_z(torch.einsum("bhqk,bkhe->bqhe", pattern, v))
        result = self.hook_result(torch.einsum("bqhe,hed->bqhd", z, self.W_O))
        out = result.sum(dim=2)
        return out if self.b_O is None else out + self.b_O
