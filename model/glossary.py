"""One glossary of activation names: the dims of each and one sentence on what it holds.

Nothing here is written twice: every component (model/norms.py, attention.py, mlp.py, block.py, embeddings.py,
transformer.py) declares its capture points as `HookSpec`s, and a built model answers for its own names
(`model.hook_specs`, `model.steps()`), e.g. grouped-query attention gives hook_k/hook_v a `kv_head` dim.
`CATALOG` merges the components' declarations by leaf, for callers that have a name but no model.

Names follow TransformerLens and mean what they mean in its default loading (`HookedTransformer.from_pretrained`,
fold_ln=True, whose norms are `LayerNormPre`): `ln*.hook_normalized` is (x - mean) / scale, before γ and β.
Extras beyond TransformerLens (EXTRA_LEAVES / EXTRA_PARTS, marked `extra` in the API) never reuse a
TransformerLens name: `ln*.hook_mean`, `ln*.hook_out` (the norm's output after γ and β), `attn.hook_dot`,
`attn.hook_scaled`, `hook_logits`, `hook_probs`, BERT's `ln_embed.*` (TransformerLens: embed.ln) and
`mlm_head.*`, and, in the decoder of an encoder-decoder, `ln_cross.*`, `cross_attn.*`, `hook_cross_attn_out`,
`hook_resid_mid_cross`. Dims never include the batch: the API and `run_with_cache` on 1-D input drop it.
"""
from __future__ import annotations

import re

from . import attention, block, mlp
from .embeddings import MLMHead
from .hooks import HookSpec, forward_order
from .norms import LayerNorm, RMSNorm
from .transformer import MODEL_HOOKS, STACK_HOOKS

# leaf -> declaration, first declaration wins (LayerNorm's wording for the leaves it shares with RMSNorm)
CATALOG: dict[str, HookSpec] = {}
for _specs in (STACK_HOOKS, block.HOOKS, LayerNorm.HOOKS, RMSNorm.HOOKS, attention.HOOKS, mlp.HOOKS,
               MLMHead.HOOKS, MODEL_HOOKS):
    for _leaf, _spec in _specs.items():
        CATALOG.setdefault(_leaf, _spec)


# Leaves that TransformerLens does not have (or, for hook_logits, has no hook for): documented extras.
EXTRA_LEAVES = frozenset({"hook_mean", "hook_out", "hook_dot", "hook_scaled", "hook_logits", "hook_probs",
                          "hook_cross_attn_out", "hook_resid_mid_cross", "hook_dense", "hook_act"})
EXTRA_PARTS = (".cross_attn.", ".ln_cross.", ".ln_embed.", ".mlm_head.")  # modules TransformerLens names otherwise


def is_extra(name: str) -> bool:
    """True for a name that is not a TransformerLens name (an extra of this project)."""
    return leaf(name) in EXTRA_LEAVES or any(p in f".{name}" for p in EXTRA_PARTS)


def leaf(name: str) -> str:
    return name.rsplit(".", 1)[-1]


def spec_of(name: str, model=None) -> HookSpec:
    """The declaration of `name`: the model's own when a model is given, else the catalog's by leaf."""
    if model is not None:
        return model.hook_specs[name]
    return CATALOG[leaf(name)]


def dims_of(name: str, model=None) -> list[str]:
    return list(spec_of(name, model).dims)


def describe(name: str, model=None) -> str:
    return spec_of(name, model).description


def generic(name: str) -> str:
    """'blocks.1.attn.hook_q' -> 'blocks.{l}.attn.hook_q'"""
    return re.sub(r"\.\d+\.", ".{l}.", name)


def activation_names(model) -> list[dict]:
    """[{name, dims, description, extra}] for every hook of `model`, in the order the forward pass reaches them
    (`hooks.forward_order`, from a traced run, not from the order the modules were registered), with the dims
    the model's components declared."""
    specs = model.hook_specs
    return [{"name": n, "dims": list(specs[n].dims), "description": specs[n].description, "extra": is_extra(n)}
            for n in forward_order(model)]


def shape_of(name: str, cfg, n_src: int, n_tgt: int | None = None, n_heads: int | None = None,
             model=None) -> list[int]:
    """The shape `run_with_cache` gives `name` on 1-D input, from its dims, the config and the token counts,
    without running anything. `n_src`: the tokens (single-stack) or source tokens (encoder-decoder); `n_tgt`:
    the decoder's tokens of an encoder-decoder (decoder.*, hook_logits, hook_probs run over them; the keys of
    cross-attention are the source). `n_heads`: size of the `head` dim if only some heads are kept. Pass the
    `model` for its own dims (grouped-query attention)."""
    pos = n_tgt if n_tgt is not None and not name.startswith("encoder.") else n_src
    sizes = {"pos": pos, "query_pos": pos, "key_pos": n_src if ".cross_attn." in name else pos,
             "d_model": cfg.d_model, "head": cfg.n_heads if n_heads is None else n_heads, "d_head": cfg.d_head,
             "kv_head": cfg.kv_heads, "d_mlp": cfg.d_mlp, "d_vocab": cfg.vocab_size}
    return [sizes[d] for d in dims_of(name, model)]
