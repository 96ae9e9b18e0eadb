"""Multi-head attention written out step by step, with grouped-query attention, optional biases and rotary
positions; and the boolean masks it applies.

GQA shapes (as TransformerLens's GroupedQueryAttention without ungroup_gqa): W_K, W_V are
[n_kv_heads, d_model, d_head], hook_k / hook_v / hook_rot_k are [key_pos, kv_head, d_head] (kv_head =
n_kv_heads); query head h reads key/value head h // (n_heads / n_kv_heads) (repeat_interleave), so the scores,
pattern and z keep one row per query head.
"""
from __future__ import annotations

import math
from typing import NamedTuple

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


class Mask(NamedTuple):
    """A boolean mask [batch, 1, q_len, k_len] (True = may look) and, computed once per forward, the query rows
    that may see no key at all ([batch, 1, q_len, 1]; None when there are none)."""
    allowed: torch.Tensor
    empty: torch.Tensor | None


def prepare_mask(mask: torch.Tensor | None) -> Mask | None:
    if mask is None:
        return None
    empty = ~mask.any(dim=-1, keepdim=True)
    return Mask(mask, empty if bool(empty.any()) else None)


def _optional(shape: tuple[int, ...], present: bool) -> nn.Parameter | None:
    return nn.Parameter(torch.zeros(shape)) if present else None


def _input_major(heads: int, d_model: int, d_head: int) -> nn.Parameter:
    """An empty [heads, d_model, d_head] weight whose memory is laid out [d_model, heads, d_head], so that the
    projection of all heads at once is one matrix product with the free view [d_model, heads·d_head]."""
    return nn.Parameter(torch.empty(d_model, heads, d_head).permute(1, 0, 2))


def _relayout(W: nn.Parameter) -> nn.Parameter:
    if W.permute(1, 0, 2).is_contiguous() or W.is_meta:
        return W
    out = _input_major(*W.shape)
    with torch.no_grad():
        out.copy_(W)
    return out


class Attention(nn.Module):
    """Project → (rotate) → q·kᵀ → ÷√d_head → mask → softmax → ·V → per-head W_O → sum over heads (= concat
    heads then one W_O). W_Q [n_heads, d_model, d_head], W_K/W_V [n_kv_heads, d_model, d_head],
    W_O [n_heads, d_head, d_model]; biases are absent (None) where the config says so.

    Speed without changing a step: W_Q/W_K/W_V are stored input-major (see `_input_major`), so each projection
    is one matrix product over all heads; z and the per-head results are computed head-major ([batch, head,
    pos, ...], what the batched products produce) and captured as transposed views in the glossary's layout."""

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
            nn.init.normal_(w, std=0.02)  # drawn in [head, d_model, d_head] order, then laid out input-major
        self.after_load()
        self.rotary = rotary
        specs = {k: v for k, v in HOOKS.items() if rotary or k not in ("hook_rot_q", "hook_rot_k")}
        if self.group > 1:  # grouped-query attention: keys and values have their own (fewer) heads
            for name in ("hook_k", "hook_v", "hook_rot_k"):
                if name in specs:
                    specs[name] = specs[name].with_dims("key_pos", "kv_head", "d_head")
        add_hooks(self, specs)

    def after_load(self) -> None:
        """Weights assigned from elsewhere (a converted checkpoint) get the input-major layout back."""
        self.W_Q, self.W_K, self.W_V = (_relayout(W) for W in (self.W_Q, self.W_K, self.W_V))

    @staticmethod
    def _project(x: torch.Tensor, W: torch.Tensor, b: torch.Tensor | None) -> torch.Tensor:
        """x [batch, pos, d_model] -> [batch, pos, heads, d_head]: x · W (+ b) for every head in one product."""
        heads, d, dh = W.shape
        flat = W.permute(1, 0, 2).reshape(d, heads * dh)  # a view for input-major weights
        x2 = x.reshape(-1, d)
        out = x2 @ flat if b is None else torch.addmm(b.reshape(-1), x2, flat)
        return out.view(*x.shape[:-1], heads, dh)

    def forward(self, x_q: torch.Tensor, x_kv: torch.Tensor, mask,
                rope: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
        if isinstance(mask, torch.Tensor):
            mask = prepare_mask(mask)
        q = self.hook_q(self._project(x_q, self.W_Q, self.b_Q))
        k = self.hook_k(self._project(x_kv, self.W_K, self.b_K))
        v = self.hook_v(self._project(x_kv, self.W_V, self.b_V))
        if self.rotary:
            cos, sin = rope
            q = self.hook_rot_q(Rotary.rotate(q, cos[-q.shape[1]:], sin[-q.shape[1]:]))
            k = self.hook_rot_k(Rotary.rotate(k, cos, sin))
        if self.group > 1:  # query head h reads key/value head h // group
            k, v = k.repeat_interleave(self.group, dim=2), v.repeat_interleave(self.group, dim=2)
        dot = self.hook_dot(torch.matmul(q.transpose(1, 2), k.permute(0, 2, 3, 1)))  # [b, h, q, k]
        scaled = self.hook_scaled(dot / math.sqrt(self.d_head))
        scores = scaled if mask is None else scaled.masked_fill(~mask.allowed, NEG_INF)
        scores = self.hook_attn_scores(scores)
        pattern = scores.softmax(dim=-1)
        if mask is not None and mask.empty is not None:  # a query that may see no key (left padding): zeros, not NaN
            pattern = pattern.masked_fill(mask.empty, 0.0)
        pattern = self.hook_pattern(pattern)
        z = torch.matmul(pattern, v.transpose(1, 2))  # [b, h, q, d_head]
        self.hook_z(z.transpose(1, 2))
        result = torch.einsum("bhqe,hed->bhqd", z, self.W_O)  # each head through its slice of W_O
        self.hook_result(result.transpose(1, 2))
        out = result.sum(dim=1)
        return out if self.b_O is None else out + self.b_O
