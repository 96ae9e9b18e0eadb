"""Training timeline of a model that kept snapshots along training (tiny-gpt):
GET /api/v1/models/{id}/timeline (the kept steps and the training loss near each) and
POST /api/v1/timeline/attention (one layer's attention patterns of every snapshot on the same text)."""
from __future__ import annotations

from pydantic import BaseModel, Field

from app.config import Settings
from app.deps import AppSettings, BodyModel, Models, OnceDep, PathModel
from app.encoding import to_json_data
from app.errors import ApiError
from app.inputs import source_ids
from app.once import Once
from app.routing import resource_router
from app.schemas import MAX_TEXT_CHARS, error_responses
from model import timeline as tl
from model.zoo import LoadedModel

router = resource_router(tags=["timeline"])


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


def snapshot_cache(once: Once, settings: Settings, loaded: LoadedModel) -> tl.SnapshotCache:
    """The model's snapshot cache, created once per app (it may be empty: the model kept no timeline)."""
    return once.get(("snapshots", loaded.id), lambda: tl.SnapshotCache(tl.timeline_dir(settings.checkpoint_dir,
                                                                                        loaded.id)))


def no_timeline(loaded: LoadedModel, models: dict[str, LoadedModel], settings: Settings) -> ApiError:
    with_timeline = [m for m in models if tl.list_steps(tl.timeline_dir(settings.checkpoint_dir, m))]
    return ApiError(404, "no_timeline", f"{loaded.id} kept no snapshots along training; models with a timeline: "
                                        f"{', '.join(with_timeline) or '(none)'}")


@router.get("/models/{model_id:path}/timeline", response_model=TimelineOut, responses=error_responses(404))
def timeline(loaded: PathModel, once: OnceDep, settings: AppSettings):
    """The training steps at which snapshots were kept, with the training loss recorded nearest to each. A model
    that kept no snapshots answers with empty lists (pages ask every model whether it has a timeline)."""
    steps = snapshot_cache(once, settings, loaded).steps()
    losses = (loaded.meta.get("training") or {}).get("losses") or []
    near = [tl.loss_near(losses, s) for s in steps]
    return {"model": loaded.id, "steps": steps, "losses": [n[1] if n else None for n in near],
            "loss_steps": [n[0] if n else None for n in near]}


@router.post("/timeline/attention", response_model=TimelineAttentionOut, responses=error_responses(400, 404, 422))
def timeline_attention(body: TimelineAttentionIn, loaded: BodyModel, models: Models, once: OnceDep,
                       settings: AppSettings):
    """Run every kept snapshot (or the requested `steps`) on `text` and return the attention weights of
    `layer`, so a page can slide over training and watch the patterns form."""
    cache = snapshot_cache(once, settings, loaded)
    if not cache.steps():
        raise no_timeline(loaded, models, settings)
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
