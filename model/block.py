"""One transformer layer: self-attention, optional cross-attention (decoder of an encoder-decoder), FFN, wired
sequentially or in parallel, with the norm before each sublayer, after the residual add, or absent."""
from __future__ import annotations

import torch
from torch import nn

from .attention import Attention
from .hooks import HookSpec, add_hooks
from .mlp import MLP
from .norms import make_norm

POS_D = ("pos", "d_model")
HOOKS = {
    "hook_resid_pre": HookSpec(POS_D, "residual in", "residual stream entering the block"),
    "hook_attn_out": HookSpec(POS_D, "attention output", "self-attention output written to the residual stream"),
    "hook_resid_mid": HookSpec(POS_D, "residual after attention",
                               "residual stream after the self-attention sublayer"),
    "hook_cross_attn_out": HookSpec(POS_D, "cross-attention output",
                                    "cross-attention output written to the residual stream"),
    "hook_resid_mid_cross": HookSpec(POS_D, "residual after cross-attention",
                                     "residual stream after the cross-attention sublayer"),
    "hook_mlp_out": HookSpec(POS_D, "FFN output", "FFN output written to the residual stream"),
    "hook_resid_post": HookSpec(POS_D, "residual out", "residual stream leaving the block"),
}


class Block(nn.Module):
    """sequential, pre-norm:  x = x + attn(ln1(x)); x = x + mlp(ln2(x))       (GPT-2, Llama)
    sequential, post-norm: x = ln1(x + attn(x)); x = ln2(x + mlp(x))          (2017, BERT, Marian)
    parallel (pre-norm):   x = x + attn(ln1(x)) + mlp(ln2(x))                 (GPT-NeoX; no hook_resid_mid)
    no norm: x = x + sublayer(x). Without residuals the sublayer output replaces the stream: x = sublayer(...).
    In a post-norm block hook_resid_mid / hook_resid_post are the normed stream (what the next step reads)."""

    kind = "block"

    def __init__(self, cfg, cross: bool = False, rotary: bool = False):
        super().__init__()
        self.norm, self.residual, self.use_mlp = cfg.norm, cfg.residual, cfg.mlp
        self.parallel = cfg.block == "parallel"
        make_ln = (lambda: make_norm(cfg)) if cfg.norm != "none" else (lambda: nn.Identity())
        hooks = ["hook_resid_pre", "hook_attn_out"] + ([] if self.parallel else ["hook_resid_mid"])
        self.ln1 = make_ln()
        self.attn = Attention(cfg, rotary=rotary)
        self.cross = cross
        if cross:
            self.ln_cross = make_ln()
            self.cross_attn = Attention(cfg)
            hooks += ["hook_cross_attn_out", "hook_resid_mid_cross"]
        if cfg.mlp:
            self.ln2 = make_ln()
            self.mlp = MLP(cfg)
            hooks.append("hook_mlp_out")
        add_hooks(self, {h: HOOKS[h] for h in hooks + ["hook_resid_post"]})

    def _sublayer(self, x: torch.Tensor, ln: nn.Module, fn, out_hook) -> torch.Tensor:
        out = out_hook(fn(ln(x) if self.norm == "pre" else x))
        y = x + out if self.residual else out
        return ln(y) if self.norm == "post" else y

    def forward(self, x, self_mask, memory=None, memory_mask=None, rope=None):
        x = self.hook_resid_pre(x)
        if self.parallel:
            attn_out = self.hook_attn_out(self._attend(self.ln1(x), self_mask, rope))
            mlp_out = self.hook_mlp_out(self.mlp(self.ln2(x)))
            return self.hook_resid_post(x + attn_out + mlp_out if self.residual else attn_out + mlp_out)
        attend = lambda h: self._attend(h, self_mask, rope)  # noqa: E731
        x = self.hook_resid_mid(self._sublayer(x, self.ln1, attend, self.hook_attn_out))
        if self.cross:
            cross = lambda h: self.cross_attn(h, memory, memory_mask)  # noqa: E731
            x = self.hook_resid_mid_cross(self._sublayer(x, self.ln_cross, cross, self.hook_cross_attn_out))
        if self.use_mlp:
            x = self._sublayer(x, self.ln2, self.mlp, self.hook_mlp_out)
        return self.hook_resid_post(x)

    def _attend(self, h: torch.Tensor, mask, rope) -> torch.Tensor:
        return self.attn(h, h, mask, rope)
