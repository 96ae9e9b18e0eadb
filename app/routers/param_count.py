"""GET /api/v1/param-count: parameters per component for any configuration or a named preset
(model/param_count.py reads them from one block per stack built on the meta device: no memory is used)."""
from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Query
from pydantic import BeforeValidator

from app.errors import ApiError
from app.routing import resource_router
from app.schemas import ParamCountOut, error_responses
from model.config import ModelConfig
from model.param_count import PRESETS, count

router = resource_router(tags=["param-count"])
Preset = Literal["transformer-base-2017", "gpt2-small", "bert-base", "gpt3"]
BIG = 10**7
# an empty choice (a form's select with no matching option) means "not given": the preset's value stands
Blank = BeforeValidator(lambda v: None if v == "" else v)
Arch = Annotated[Literal["decoder", "encoder", "encoder_decoder"] | None, Blank]
ActFn = Annotated[Literal["relu", "gelu", "gelu_new", "silu", "swiglu"] | None, Blank]
PosEmbed = Annotated[Literal["sinusoidal", "sinusoidal_halves", "learned", "rotary", "none"] | None, Blank]
Norm = Annotated[Literal["pre", "post", "none"] | None, Blank]


@router.get("/param-count", response_model=ParamCountOut, responses=error_responses(422))
def param_count(
    preset: Preset | None = Query(None, description="start from a published configuration; other inputs override it"),
    arch: Annotated[Arch, Query(description="decoder, encoder (BERT) or encoder_decoder")] = None,
    vocab: int | None = Query(None, ge=1, le=BIG, description="vocabulary size"),
    d_model: int | None = Query(None, ge=1, le=10**6),
    n_heads: int | None = Query(None, ge=1, le=10**5, description="must divide d_model"),
    n_layers: int | None = Query(None, ge=1, le=10**5, description="blocks (per stack for an encoder-decoder)"),
    d_mlp: int | None = Query(None, ge=1, le=10**7),
    n_ctx: int | None = Query(None, ge=1, le=BIG, description="context length (counts only for learned positions)"),
    act_fn: Annotated[ActFn, Query(description="swiglu adds a third FFN matrix; the others count alike")] = None,
    pos_embed: Annotated[PosEmbed, Query(description="only learned positions have parameters")] = None,
    norm: Annotated[Norm, Query()] = None,
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
