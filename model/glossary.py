"""One glossary of activation names: the dims of each and one sentence on what it holds.

Names follow TransformerLens and mean what they mean in its default loading (`HookedTransformer.from_pretrained`,
fold_ln=True, whose norms are `LayerNormPre`): `ln*.hook_normalized` is (x - mean) / scale, before γ and β.
Extras beyond TransformerLens (EXTRAS, marked `extra` in the API) never reuse a TransformerLens name:
`ln*.hook_mean`, `ln*.hook_out` (the norm's output after γ and β), `attn.hook_dot`, `attn.hook_scaled`,
`hook_logits`, `hook_probs`, and, in the decoder of an encoder-decoder, `ln_cross.*`, `cross_attn.*`,
`hook_cross_attn_out`, `hook_resid_mid_cross`.
Dims never include the batch: the API and `run_with_cache` on 1-D input drop it.
"""
from __future__ import annotations

import re

from .hooks import forward_order

POS, KEY, HEAD_QK = ["pos", "d_model"], ["key_pos", "head", "d_head"], ["head", "query_pos", "key_pos"]

LEAVES: dict[str, tuple[list[str], str]] = {
    "hook_embed": (POS, "token embedding: the row of W_E for each token"),
    "hook_pos_embed": (POS, "position embedding added to each token (sinusoidal table, learned W_pos, or zeros)"),
    "hook_resid_pre": (POS, "residual stream entering the block"),
    "hook_mean": (["pos"], "mean over d_model of the layer norm's input, per token"),
    "hook_scale": (["pos"], "sqrt(variance + eps) of the layer norm's input, per token"),
    "hook_normalized": (POS, "(x - mean) / scale: zero mean, unit variance, before γ and β"),
    "hook_out": (POS, "layer norm output: normalized · γ + β (what the next sublayer reads)"),
    "hook_q": (["pos", "head", "d_head"], "queries: x · W_Q + b_Q, per head"),
    "hook_k": (KEY, "keys: x · W_K + b_K, per head (for cross-attention, from the encoder output)"),
    "hook_v": (KEY, "values: x · W_V + b_V, per head (for cross-attention, from the encoder output)"),
    "hook_dot": (HEAD_QK, "q · k for every query/key pair, before scaling"),
    "hook_scaled": (HEAD_QK, "q · k / sqrt(d_head), before the mask"),
    "hook_attn_scores": (HEAD_QK, "scaled scores after the mask; hidden pairs are -inf (null in JSON)"),
    "hook_pattern": (HEAD_QK, "attention weights: softmax of the scores over keys; each row sums to 1"),
    "hook_z": (["pos", "head", "d_head"], "pattern · V: each head's weighted mix of values"),
    "hook_result": (["pos", "head", "d_model"], "each head's z through its slice of W_O (their sum + b_O = attn_out)"),
    "hook_attn_out": (POS, "self-attention output written to the residual stream"),
    "hook_resid_mid": (POS, "residual stream after the self-attention sublayer"),
    "hook_cross_attn_out": (POS, "cross-attention output written to the residual stream"),
    "hook_resid_mid_cross": (POS, "residual stream after the cross-attention sublayer"),
    "hook_pre": (["pos", "d_mlp"], "FFN hidden layer before the activation (the gate branch for SwiGLU)"),
    "hook_pre_linear": (["pos", "d_mlp"], "SwiGLU's linear branch x · W_in, multiplied by silu(gate)"),
    "hook_post": (["pos", "d_mlp"], "FFN hidden layer after the activation"),
    "hook_mlp_out": (POS, "FFN output written to the residual stream"),
    "hook_resid_post": (POS, "residual stream leaving the block"),
    "hook_logits": (["pos", "d_vocab"], "unembedding output: one score per vocabulary word"),
    "hook_probs": (["pos", "d_vocab"], "softmax of the logits at temperature 1"),
}


# Leaves that TransformerLens does not have (or, for hook_logits, has no hook for): documented extras.
EXTRA_LEAVES = frozenset({"hook_mean", "hook_out", "hook_dot", "hook_scaled", "hook_logits", "hook_probs",
                          "hook_cross_attn_out", "hook_resid_mid_cross"})
EXTRA_PARTS = (".cross_attn.", ".ln_cross.")  # modules only the decoder of an encoder-decoder has


def is_extra(name: str) -> bool:
    """True for a name that is not a TransformerLens name (an extra of this project)."""
    return leaf(name) in EXTRA_LEAVES or any(p in f".{name}" for p in EXTRA_PARTS)


def leaf(name: str) -> str:
    return name.rsplit(".", 1)[-1]


def dims_of(name: str) -> list[str]:
    return list(LEAVES[leaf(name)][0])


def describe(name: str) -> str:
    return LEAVES[leaf(name)][1]


def generic(name: str) -> str:
    """'blocks.1.attn.hook_q' -> 'blocks.{l}.attn.hook_q'"""
    return re.sub(r"\.\d+\.", ".{l}.", name)


def activation_names(model) -> list[dict]:
    """[{name, dims, description, extra}] for every hook of `model`, in the order the forward pass reaches them
    (`hooks.forward_order`, from a traced run, not from the order the modules were registered)."""
    return [{"name": n, "dims": dims_of(n), "description": describe(n), "extra": is_extra(n)}
            for n in forward_order(model)]


def shape_of(name: str, cfg, n_src: int, n_tgt: int | None = None, n_heads: int | None = None) -> list[int]:
    """The shape `run_with_cache` gives `name` on 1-D input, from its dims, the config and the token counts,
    without running anything. `n_src`: the tokens (decoder-only) or source tokens (encoder-decoder); `n_tgt`:
    the decoder's tokens of an encoder-decoder (decoder.*, hook_logits, hook_probs run over them; the keys of
    cross-attention are the source). `n_heads`: size of the `head` dim if only some heads are kept."""
    pos = n_tgt if n_tgt is not None and not name.startswith("encoder.") else n_src
    sizes = {"pos": pos, "query_pos": pos, "key_pos": n_src if ".cross_attn." in name else pos,
             "d_model": cfg.d_model, "head": cfg.n_heads if n_heads is None else n_heads, "d_head": cfg.d_head,
             "d_mlp": cfg.d_mlp, "d_vocab": cfg.vocab_size}
    return [sizes[d] for d in dims_of(name)]
