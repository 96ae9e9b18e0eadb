"""One transformer layer: self-attention, optional cross-attention (decoder of an encoder-decoder), FFN, wired
sequentially or in parallel, with the norm before each sublayer, after the residual add, or absent."""
from __future__ import annotations

import torch
from torch import nn

from .attention import Attention
from .hooks import HookSpec, add_hooks
from .mlp import MLP
from .norms import NORM_TITLES, make_norm, placed
from .steps import stage

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

    def __init__(self, cfg, cross: bool = False, rotary: bool = False, index: int = 0, stack: str = ""):
        """`index`: the block's place in its stack; `stack`: "" (a single stack), "encoder" or "decoder". Both only
        name things (the block's stage of the forward pass, its attention's family, the norms' titles)."""
        super().__init__()
        self.norm, self.residual, self.use_mlp = cfg.norm, cfg.residual, cfg.mlp
        self.parallel = cfg.block == "parallel"
        self.index, self.d_model, self.d_mlp, self.mlp_bias = index, cfg.d_model, cfg.d_mlp, cfg.mlp_bias
        self.stage = stage(f"{stack or 'blocks'}.{index}", f"{stack.capitalize() + ' block' if stack else 'Block'} {index}",
                           "target" if stack == "decoder" else "source")
        self.out_title: str | None = None  # the stack may name this block's output (an encoder's memory)
        where = {"pre": "before {}", "post": "after {} + residual"}.get(cfg.norm, "")
        make_ln = ((lambda name, what: placed(make_norm(cfg), f"{NORM_TITLES[cfg.norm_type]} ({name}) "
                                          + where.format(what))) if cfg.norm != "none"
                   else (lambda name, what: nn.Identity()))
        hooks = ["hook_resid_pre", "hook_attn_out"] + ([] if self.parallel else ["hook_resid_mid"])
        self.ln1 = make_ln("ln1", "attention")
        mask = "padding" if stack == "encoder" else cfg.self_attn_mask
        series = {"encoder": ("encoder", "encoder self-attention"), "decoder": ("decoder", "decoder masked self-attention")
                  }.get(stack, ("self", f"self-attention ({'causal' if mask == 'causal' else 'bidirectional'})"))
        self.attn = Attention(cfg, rotary=rotary, mask=mask, series=series)
        self.cross = cross
        if cross:
            self.ln_cross = make_ln("ln_cross", "cross-attention")
            self.cross_attn = Attention(cfg, role="cross", series=("cross", "cross-attention (target over source)"))
            hooks += ["hook_cross_attn_out", "hook_resid_mid_cross"]
        if cfg.mlp:
            self.ln2 = make_ln("ln2", "the FFN")
            self.mlp = MLP(cfg)
            hooks.append("hook_mlp_out")
        add_hooks(self, {h: HOOKS[h] for h in hooks + ["hook_resid_post"]})

    def step_info(self, leaf: str) -> dict:
        """Title and sentence of each capture point as a step of the forward pass (model/steps.py)."""
        l, d = self.index, self.d_model
        if leaf == "hook_resid_pre":
            return {"title": f"{self.stage['title']}: residual stream in",
                    "text": "What the input stage left in the residual stream: the stream this first block reads."
                    if l == 0 else f"What block {l - 1} left in the residual stream."}
        if leaf in ("hook_attn_out", "hook_cross_attn_out"):
            attn = self.attn if leaf == "hook_attn_out" else self.cross_attn
            cross = leaf == "hook_cross_attn_out"
            bias, plus = (" (+ b_O)", " plus the bias b_O") if attn.biases[1] else ("", "")
            side = " It is added to the stream together with the FFN's output (a parallel block)." if self.parallel else ""
            return {"title": f"{'Cross-attention: all' if cross else 'All'} heads summed{bias}",
                    "text": f"The {attn.n_heads} heads' outputs added together{plus}: "
                            f"what {'cross-' if cross else ''}attention writes to the residual stream.{side}"}
        if leaf in ("hook_resid_mid", "hook_resid_mid_cross"):
            title = "+ residual" + (" (after cross-attention)" if leaf == "hook_resid_mid_cross" else "")
            return {"title": title + (", then layer norm" if self.norm == "post" else ""), "text": self._add_text()}
        if leaf == "hook_mlp_out":
            side = (" In a parallel block it is added to the stream together with the attention output, both read from "
                    "the block's input.") if self.parallel else ""
            return {"title": f"FFN down-projection (d_mlp {self.d_mlp} → d_model {d})",
                    "text": f"post · W_out{' + b_out' if self.mlp_bias else ''}: back to the residual width; what the FFN "
                            "writes to the stream." + side}
        if self.parallel:
            title, text = "Block output: stream + attention + FFN", ("The block's input plus both sublayers' outputs "
                                                                     "(GPT-NeoX's parallel block: no stream in between).")
        elif not self.use_mlp:
            title, text = "Block output (this model has no FFN)", "The stream leaving the block."
        else:
            title, text = "+ residual → block output" + (", layer-normed" if self.norm == "post" else ""), self._add_text()
        return {"title": self.out_title or title, "text": text + (
            " Every decoder cross-attention reads its keys and values from this." if self.out_title else "")}

    def _add_text(self) -> str:
        text = ("The sublayer's output is added to the stream it read (the skip connection)." if self.residual
                else "No residual connection in this model: the sublayer's output replaces the stream.")
        return text + (" Post-LN: this is the sum after the layer norm just above, the stream the next step reads."
                       if self.norm == "post" else "")

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
