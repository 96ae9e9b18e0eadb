"""GET /api/v1/param-count: parameters per component for any configuration or a named preset (pure
arithmetic in model/param_count.py; no model is built)."""
from __future__ import annotations

from typing import Literal

from fastapi import Query

from app.errors import ApiError
from app.routing import resource_router
from app.schemas import ParamCountOut, error_responses
from model.config import ModelConfig
from model.param_count import PRESETS, count

router = resource_router(tags=["param-count"])
Preset = Literal["transformer-base-2017", "gpt2-small", "bert-base", "gpt3"]
BIG = 10**7


@router.get("/param-count", response_model=ParamCountOut, responses=error_responses(422))
def param_count(
    preset: Preset | None = Query(None, description="start from a published configuration; other inputs override it"),
    arch: Literal["decoder", "encoder_decoder"] | None = Query(None),
    vocab: int | None = Query(None, ge=1, le=BIG, description="vocabulary size"),
    d_model: int | None = Query(None, ge=1, le=10**6),
    n_heads: int | None = Query(None, ge=1, le=10**5, description="must divide d_model"),
    n_layers: int | None = Query(None, ge=1, le=10**5, description="blocks (per stack for an encoder-decoder)"),
    d_mlp: int | None = Query(None, ge=1, le=10**7),
    n_ctx: int | None = Query(None, ge=1, le=BIG, description="context length (counts only for learned positions)"),
    act_fn: Literal["relu", "gelu", "swiglu"] | None = Query(None, description="swiglu adds a third FFN matrix"),
    pos_embed: Literal["sinusoidal", "learned", "none"] | None = Query(None),
    norm: Literal["pre", "post", "none"] | None = Query(None),
    tie_embeddings: bool | None = Query(None, description="unembedding = transpose of the token embedding"),
    mlp: bool | None = Query(None, description="false removes the FFN from every block"),
):
    """Total and per-component parameter count. Without a preset, unspecified inputs take the ModelConfig
    defaults (model/config.py). The figure must equal sum(p.numel()) of the model built from the same config."""
    base = PRESETS[preset]["config"] if preset else ModelConfig()
    given = {"arch": arch, "vocab_size": vocab, "d_model": d_model, "n_heads": n_heads, "n_layers": n_layers,
             "d_mlp": d_mlp, "n_ctx": n_ctx, "act_fn": act_fn, "pos_embed": pos_embed, "norm": norm,
             "tie_embeddings": tie_embeddings, "mlp": mlp}
    try:
        cfg = base.replace(**{k: v for k, v in given.items() if v is not None})
    except ValueError as e:
        raise ApiError(422, "invalid_config", f"{e}; choose n_heads that divides d_model") from e
    out = count(cfg)
    changed = preset is not None and cfg != base
    return {"preset": preset, "config": {**cfg.to_dict(), "d_head": cfg.d_head}, **out,
            "published": PRESETS[preset]["published"] if preset and not changed else None,
            "note": PRESETS[preset]["note"] if preset and not changed else None}
