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

    def __init__(self, cfg, rotary: bool = False, role: str = "self", mask: str | None = None,
                 series: tuple[str, str] = ("self", "self-attention")):
        """`role`: "self" or "cross" (keys and values from the encoder output); `mask`: what this layer's scores
        hide ("causal", "padding" or "none"; default: the config's self-attention mask, "padding" for cross);
        `series`: (id, label) of the family of layers it belongs to (every layer's self-attention of one stack,
        or the cross-attention), for the steps and the attention page. Only descriptions: the mask applied is
        the one forward() is given."""
        super().__init__()
        h, kv, d, dh = cfg.n_heads, cfg.kv_heads, cfg.d_model, cfg.d_head
        self.n_heads, self.n_kv_heads, self.d_head, self.d_model = h, kv, dh, d
        self.group = h // kv
        self.role, self.series = role, series
        self.mask = mask or ("padding" if role == "cross" else cfg.self_attn_mask)
        self.window = cfg.sliding_window if self.mask == "causal" else None
        self.rotary_dims, self.rotary_base = (cfg.rotary_dims, cfg.rotary_base) if rotary else (0, 0.0)
        self.biases = (cfg.attn_bias, cfg.attn_out_bias)
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

    def step_info(self, leaf: str) -> dict:
        """Title and sentence of each capture point as a step of the forward pass (model/steps.py): K and V are
        drawn with Q; z is drawn per head and, as a second view, with its heads concatenated."""
        H, kv, dh, d, g = self.n_heads, self.n_kv_heads, self.d_head, self.d_model, self.group
        cross = self.role == "cross"
        pre = "Cross-attention: " if cross else ""
        gqa = (f" Grouped-query attention: keys and values have {kv} heads, each shared by {g} query heads (query "
               f"head h reads key/value head ⌊h / {g}⌋).") if g > 1 else ""
        info = {"attention": {"id": self.series[0], "label": self.series[1], "mask": self.mask,
                              "window": self.window, "n_heads": H, "n_kv_heads": kv}}
        if cross:
            info["positions"] = {"key_pos": "source"}
        split = f"d_model {d} ÷ {H} heads" if H * dh == d else f"set by the model: {H} × {dh} ≠ d_model {d}"
        if leaf == "hook_q":
            src = ("queries from the decoder's stream, keys and values from the encoder output (the memory)" if cross
                   else "queries, keys and values, all from the same stream")
            bias = " (each with its bias)" if self.biases[0] else " (no biases)"
            text = f"Three learned projections{bias}: {src}. Each head works in d_head = {dh} dimensions ({split})."
            return {**info, "title": f"{'Cross' if cross else 'Self'}-attention: Q, K, V", "text": text + gqa,
                    "with": ["hook_k", "hook_v"]}
        if leaf in ("hook_k", "hook_v"):
            return {**info, "title": f"{pre}{'keys' if leaf == 'hook_k' else 'values'}", "part_of": "hook_q",
                    "text": "Drawn with the queries."}
        if leaf in ("hook_rot_q", "hook_rot_k"):
            r, half = self.rotary_dims, self.rotary_dims // 2
            rest = f"; the other {dh - r} dimensions pass unchanged (partial rotary)" if r < dh else ""
            if leaf == "hook_rot_q":
                text = (f"Each query is turned by angles that grow with its position: its first {r} of {dh} "
                        f"dimensions form {half} pairs (i, i + {half}), pair i turned by position × "
                        f"{self.rotary_base:g}^(−2i/{r}){rest}. No position vector is added to the stream: this "
                        "rotation is how the model knows where a token is.")
            else:
                text = ("Each key is turned by the same angles at its own position, so a query–key dot product "
                        "depends on how far apart the two positions are, not on where they are." + gqa)
            return {**info, "title": f"Rotary: rotate the {'queries' if leaf == 'hook_rot_q' else 'keys'}", "text": text}
        if leaf == "hook_dot":
            return {**info, "title": "Cross-attention: scores q·k" if cross else "Scores q·k",
                    "text": "The dot product of every query with every key, head by head: how well what one position "
                            "is looking for matches what another offers." + (
                                f" Query head h uses key head ⌊h / {g}⌋." if g > 1 else "")}
        if leaf == "hook_scaled":
            return {**info, "title": f"{pre}Divide by √d_head = √{dh}",
                    "text": f"Every score times 1/√{dh} = {1 / math.sqrt(dh):.4f}: without it the scores' spread would "
                            "grow with the head size and the softmax would put almost all weight on one key."}
        if leaf == "hook_attn_scores":
            return {**info, "title": f"{pre}Mask", "text": self._mask_text()}
        if leaf == "hook_pattern":
            return {**info, "title": f"{pre}Softmax → attention pattern",
                    "text": "Softmax over the keys turns each query's row of scores into weights that are ≥ 0 and sum "
                            "to 1; a −∞ score becomes exactly 0."}
        if leaf == "hook_z":
            src = "source positions' " if cross else ""
            return {**info, "title": f"{pre}Weighted sum of values (pattern · V)",
                    "text": f"Each position takes the attention-weighted average of the {src}value vectors: one "
                            f"{dh}-dimensional vector per head.",
                    "views": [{"title": f"{pre}Concatenate the heads", "merge": ["head", "d_head"],
                               "text": f"The {H} heads' z vectors side by side: [pos, head, d_head] becomes [pos, "
                                       f"{H}·{dh} = {H * dh}], head h in columns h·{dh} to h·{dh} + {dh - 1} (the "
                                       f"chosen head outlined); this is the input of W_O ({H * dh} × {d})."}]}
        return {**info, "title": f"{pre}This head's output through W_O",
                "text": f"Each head's z goes through its own {dh} × {d} slice of W_O (the rows under its columns of "
                        "the concatenation). Applying the whole W_O to the concatenation is the same as summing "
                        "these per-head outputs (next step)."}

    def _mask_text(self) -> str:
        if self.role == "cross":
            return ("Source padding is hidden (−∞, blank); every target position may read every real source "
                    "token.")
        if self.mask == "causal":
            window = (f" With a sliding window of {self.window}, it also cannot look more than {self.window - 1} "
                      "positions back." if self.window else "")
            return ("Causal mask: a position may not look at later positions; those scores become −∞ (blank cells) "
                    "and get weight 0." + window)
        if self.mask == "padding":
            return ("Padding mask: only padding keys are hidden (−∞, blank); every real token may look at every "
                    "other, before and after it.")
        return "No mask: every position may look at every position; no score becomes −∞."

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
