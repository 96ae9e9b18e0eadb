"""Training timeline of a model that kept snapshots along training (tiny-gpt):
GET /api/v1/models/{id}/timeline (the kept steps and the training loss near each) and
POST /api/v1/timeline/attention (one layer's attention patterns of every snapshot on the same text)."""
from __future__ import annotations

import threading

import torch
from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from app.deps import get_models
from app.errors import ApiError, handled
from app.inputs import get_model, source_ids
from app.schemas import MAX_TEXT_CHARS, error_responses
from app.routers.trace import to_json_data
from model import timeline as tl
from model.zoo import LoadedModel

router = APIRouter(prefix="/api/v1", tags=["timeline"])
_LOCK = threading.Lock()


class TimelineOut(BaseModel):
    model: str
    steps: list[int] = Field(description="training steps with a kept snapshot, ascending")
    losses: list[float | None] = Field(description="per step: the recorded training loss closest to that step")
    loss_steps: list[int | None] = Field(description="per step: the step at which that loss was recorded (losses "
                                                     "are means over the 10 steps before it)")


class TimelineAttentionIn(BaseModel):
    model: str = Field(examples=["tiny-gpt"])
    text: str = Field(max_length=MAX_TEXT_CHARS, examples=["the dog that the cats chase"])
    layer: int = Field(0, ge=0, description="which attention layer (0-based)")
    steps: list[int] | None = Field(None, max_length=64, description="a subset of the timeline's steps; omitted = all")


class TimelineAttentionOut(BaseModel):
    model: str
    layer_name: str = Field(description="e.g. blocks.0.attn.hook_pattern")
    tokens: list[str]
    steps: list[int]
    patterns: list = Field(description="per step: [head, query_pos, key_pos], the snapshot's attention weights")


def _caches(request: Request) -> dict[str, tl.SnapshotCache]:
    with _LOCK:
        state = request.app.state
        if not hasattr(state, "timeline_caches"):
            state.timeline_caches = {}
        return state.timeline_caches


def snapshot_cache(request: Request, loaded: LoadedModel, required: bool = True) -> tl.SnapshotCache:
    """The model's snapshot cache; 404 when it kept no timeline and `required`."""
    caches = _caches(request)
    directory = tl.timeline_dir(request.app.state.settings.checkpoint_dir, loaded.id)
    with _LOCK:
        cache = caches.get(loaded.id)
        if cache is None:
            cache = caches[loaded.id] = tl.SnapshotCache(directory)
    if required and not cache.steps():
        with_timeline = [m for m in request.app.state.models
                         if tl.list_steps(tl.timeline_dir(request.app.state.settings.checkpoint_dir, m))]
        raise ApiError(404, "no_timeline", f"{loaded.id} kept no snapshots along training; models with a timeline: "
                                           f"{', '.join(with_timeline) or '(none)'}")
    return cache


@router.get("/models/{model_id}/timeline", response_model=TimelineOut, responses=error_responses(404))
@handled
def timeline(model_id: str, request: Request, models=Depends(get_models)):
    """The training steps at which snapshots were kept, with the training loss recorded nearest to each. A model
    that kept no snapshots answers with empty lists (pages ask every model whether it has a timeline)."""
    loaded = get_model(models, model_id)
    steps = snapshot_cache(request, loaded, required=False).steps()
    losses = (loaded.meta.get("training") or {}).get("losses") or []
    near = [tl.loss_near(losses, s) for s in steps]
    return {"model": loaded.id, "steps": steps, "losses": [n[1] if n else None for n in near],
            "loss_steps": [n[0] if n else None for n in near]}


@router.post("/timeline/attention", response_model=TimelineAttentionOut, responses=error_responses(400, 404, 422))
@handled
def timeline_attention(body: TimelineAttentionIn, request: Request, models=Depends(get_models)):
    """Run every kept snapshot (or the requested `steps`) on `text` and return the attention weights of
    `layer`, so a page can slide over training and watch the patterns form."""
    loaded = get_model(models, body.model)
    cache = snapshot_cache(request, loaded)
    if loaded.is_encoder_decoder:
        raise ApiError(422, "decoder_only", "the timeline view runs on decoder-only models")
    if body.layer >= loaded.cfg.n_layers:
        raise ApiError(422, "unknown_layer", f"layer must be in 0..{loaded.cfg.n_layers - 1}, got {body.layer}")
    available = cache.steps()
    steps = available if body.steps is None else list(dict.fromkeys(body.steps))
    missing = [s for s in steps if s not in available]
    if missing or not steps:
        raise ApiError(422, "unknown_step", f"no snapshot at step(s) {missing or '[]'}; kept steps: {available}")
    src = source_ids(loaded, body.text)
    pats = tl.patterns(cache, steps, src, body.layer)
    return {"model": loaded.id, "layer_name": tl.layer_name(loaded, body.layer),
            "tokens": loaded.tokenizer.decode(src.tolist()), "steps": steps,
            "patterns": [to_json_data(p, 6) for p in pats]}
