"""POST /api/v1/trace: one forward pass (resumed from a cached residual stream where it can), every requested
activation under its name, as nested lists."""
from __future__ import annotations

import fnmatch
import math

from app.deps import BodyModel, ResidCacheDep
from app.encoding import json_response, round_sig
from app.errors import ApiError, suggest
from app.inputs import source_ids, target_ids
from app.resid_cache import resume_args
from app.routing import resource_router
from app.schemas import MAX_TRACE_VALUES, TraceIn, TraceOut, error_responses
from model.glossary import dims_of, shape_of
from model.hooks import CaptureTooLarge, name_filter
from model.transformer import run_with_cache

router = resource_router(tags=["trace"])


def check_names(patterns: list[str], available: list[str]) -> None:
    """Every name or glob must match at least one activation of the model; say which do not and suggest."""
    for p in patterns:
        if not any(fnmatch.fnmatchcase(n, p) for n in available):
            close = suggest(p, available)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise ApiError(422, "unknown_activation",
                           f"no activation of this model matches {p!r}{hint} (GET /api/v1/models/{{id}} lists "
                           f"activation_names; globs like 'blocks.0.attn.*' work)")


def check_heads(heads: list[int], model_id: str, n_heads: int) -> None:
    """Every head index must exist in the model, once."""
    bad = [h for h in heads if h >= n_heads]
    if bad:
        raise ApiError(422, "invalid_heads",
                       f"heads: {', '.join(map(str, bad))} {'is' if len(bad) == 1 else 'are'} not a head of {model_id}, "
                       f"which has n_heads = {n_heads}; use indices 0..{n_heads - 1}")
    if len(set(heads)) != len(heads):
        dup = sorted({h for h in heads if heads.count(h) > 1})
        raise ApiError(422, "invalid_heads", f"heads: {', '.join(map(str, dup))} listed more than once; list each "
                                             "head once")


def too_large(values: int, exact: bool) -> ApiError:
    return ApiError(413, "trace_too_large",
                    f"this trace has {'' if exact else 'at least '}{values:,} values, over the budget of "
                    f"{MAX_TRACE_VALUES:,}; select names per layer (e.g. names=['blocks.0.*']), fewer heads "
                    "(e.g. heads=[0]) or shorten the text")


def trace_values(loaded, selected: list[str], n_src: int, n_tgt: int | None, heads: list[int] | None) -> int:
    """How many values a trace of `selected` returns, from the glossary dims and the config (no forward)."""
    n_heads = len(heads) if heads is not None else None
    return sum(math.prod(shape_of(n, loaded.cfg, n_src, n_tgt, n_heads, loaded.model)) for n in selected)


@router.post("/trace", response_model=TraceOut, responses=error_responses(400, 404, 413, 422))
def trace(body: TraceIn, loaded: BodyModel, resid_cache: ResidCacheDep):
    """Run the model once on `text` (and `target`, the decoder input of an encoder-decoder) and return the
    activations whose names match `names` (all if omitted), each with its dims and shape; with `heads`, only
    those heads of the activations that have a `head` dim. Masked attention scores are -inf, sent as null. A
    trace over the payload budget is refused (413) before the forward runs: then ask for fewer names (e.g. one
    layer at a time) or heads. Decoder-only: a request whose names all lie at block l or after starts from the
    residual stream cached for the same text at the closest block <= l (app/resid_cache.py), so fetching layer
    by layer runs each block about once."""
    if body.names is not None:
        check_names(body.names, loaded.model.hook_names)
    if body.heads is not None:
        check_heads(body.heads, loaded.id, loaded.cfg.n_heads)
    src = source_ids(loaded, body.text)
    tgt = target_ids(loaded, body.target)
    wanted = name_filter(body.names)
    selected = [n for n in loaded.model.hook_names if wanted(n)]
    values = trace_values(loaded, selected, len(src), None if tgt is None else len(tgt), body.heads)
    if values > MAX_TRACE_VALUES:  # refused from the shapes, before anything runs
        raise too_large(values, exact=True)
    resume = resume_args(resid_cache, loaded, src, wanted)  # {} for an encoder-decoder
    try:  # stop after the last requested activation; the capture budget is a safety net behind the check above
        _, cache = run_with_cache(loaded.model, src, tgt, names=wanted, stop_early=True, max_values=MAX_TRACE_VALUES,
                                  heads=body.heads, **resume)
    except CaptureTooLarge as e:
        raise too_large(e.values, exact=False) from None
    out = {"model": loaded.id, "tokens": loaded.tokenizer.decode(src.tolist())}
    if tgt is not None:
        out["target_tokens"] = loaded.tokenizer.decode(tgt.tolist())
    out["activations"] = {name: {"dims": dims_of(name, loaded.model), "shape": list(t.shape), "data": round_sig(t, body.precision)}
                          for name, t in cache.items()}
    return json_response(out)
