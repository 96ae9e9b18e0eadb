"""Read-outs the component pages show that are not a single cached activation: the logit lens, residual
norms, FFN sparsity, the position table and its similarity matrix, the shuffled-words check, and the
activation function's curve. Each is computed from the model's own weights or one `run_with_cache` call.
"""
from __future__ import annotations

import random

import torch

from .mlp import ACTIVATIONS
from .transformer import EncoderDecoder, Transformer


def _stack(model: Transformer):
    """The stack whose output is unembedded: the decoder of an encoder-decoder, else the only stack."""
    return model.decoder if isinstance(model, EncoderDecoder) else model.stack


def _prefix(model: Transformer) -> str:
    return "decoder" if isinstance(model, EncoderDecoder) else "blocks"


def lens_points(model: Transformer) -> list[str]:
    """Residual-stream states the logit lens reads: the stream entering block 0 (embedding + position),
    then the stream leaving each block."""
    p = _prefix(model)
    return [f"{p}.0.hook_resid_pre"] + [f"{p}.{l}.hook_resid_post" for l in range(model.cfg.n_layers)]


def unembed_residual(model: Transformer, resid: torch.Tensor) -> torch.Tensor:
    """What the model would output if `resid` [.., d_model] were the last residual state: the model's final
    norm (identity for post-LN and no-norm models), then the unembedding. Returns logits [.., d_vocab]."""
    x = _stack(model).ln_final(resid)
    if model.mlm_head is not None:  # BERT: the masked-LM transform comes before the unembedding
        x = model.mlm_head(x)
    tied = model.embed.W_E if model.cfg.tie_embeddings else None
    return model.unembed(x, tied)


def logit_lens(model: Transformer, cache: dict[str, torch.Tensor], k: int = 3) -> dict:
    """{points, top: [point][pos] -> [(id, prob)] k best} from the cached residual states."""
    points = lens_points(model)
    top = []
    for name in points:
        probs = unembed_residual(model, cache[name]).softmax(-1)  # [pos, d_vocab]
        p, i = probs.topk(k, dim=-1)
        top.append([[(int(i[t, j]), float(p[t, j])) for j in range(k)] for t in range(probs.shape[0])])
    return {"points": points, "top": top}


def stacks(model: Transformer) -> list[str]:
    """Prefixes of the block stacks, in forward order: ["blocks"] or ["encoder", "decoder"]."""
    return ["encoder", "decoder"] if isinstance(model, EncoderDecoder) else ["blocks"]


def residual_norms(model: Transformer, cache: dict[str, torch.Tensor], prefix: str) -> list[dict]:
    """Per block of the stack `prefix`: L2 norm per token of the stream entering it, of what each sublayer
    wrote, and of the stream leaving it. Keys are the activation names' leaves (hook_resid_pre, ...)."""
    p = prefix
    leaves = ["hook_resid_pre", "hook_attn_out", "hook_cross_attn_out", "hook_mlp_out", "hook_resid_post"]
    out = []
    for l in range(model.cfg.n_layers):
        row = {"layer": l}
        for leaf in leaves:
            name = f"{p}.{l}.{leaf}"
            if name in cache:
                row[leaf] = cache[name].norm(dim=-1).tolist()
        out.append(row)
    return out


def ffn_sparsity(post: torch.Tensor, threshold: float) -> dict:
    """Fraction of FFN hidden units with |activation| < threshold, per token and over all tokens."""
    near = post.abs() < threshold  # [pos, d_mlp]
    return {"per_token": near.float().mean(-1).tolist(), "overall": float(near.float().mean())}


def activation_curve(act_fn: str, lo: float, hi: float, n: int) -> dict:
    """y = the FFN's non-linearity at n evenly spaced x (for SwiGLU: silu, applied to the gate branch)."""
    x = torch.linspace(lo, hi, n)
    y = ACTIVATIONS["silu" if act_fn == "swiglu" else act_fn](x)
    return {"x": x.tolist(), "y": y.tolist(), "fn": "silu (gate of SwiGLU)" if act_fn == "swiglu" else act_fn}


def position_table(model: Transformer, n: int) -> dict:
    """The first n rows of the position table the model adds (W_pos) and their cosine similarity."""
    if model.pos_embed is None:
        raise ValueError("this model has rotary positions: no table is added to the embeddings (the queries and "
                         "keys are rotated instead, see attn.hook_rot_q / hook_rot_k)")
    table = model.pos_embed.W_pos[:n].float()
    norms = table.norm(dim=-1, keepdim=True)
    unit = torch.where(norms > 0, table / norms.clamp_min(1e-12), torch.zeros_like(table))
    return {"kind": model.cfg.pos_embed, "table": table.tolist(), "similarity": (unit @ unit.T).tolist()}


def shuffled_words(ids: list[int], seed: int) -> list[int]:
    """Keep the first token (<bos>) and the last token in place, shuffle those in between (seeded, and
    guaranteed to differ from the original order when the middle has two different tokens)."""
    if len(ids) < 4:
        raise ValueError("the shuffle demo needs at least three words")
    first, middle, last = ids[0], list(ids[1:-1]), ids[-1]
    rng = random.Random(seed)
    shuffled = middle[:]
    for _ in range(20):
        rng.shuffle(shuffled)
        if shuffled != middle:
            break
    return [first] + shuffled + [last]
