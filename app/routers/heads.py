"""GET /api/v1/models/{id}/heads: every attention head scored for known behaviours (model/heads.py), with the
labels it earns. Computed on the first request for a model (a few seconds on CPU), then cached; concurrent
first requests compute it once."""
from __future__ import annotations

import threading

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from app.deps import get_models
from app.errors import handled
from app.inputs import get_model
from app.schemas import error_responses
from model.heads import THRESHOLD, score_heads

router = APIRouter(prefix="/api/v1", tags=["heads"])
_LOCK = threading.Lock()


class HeadScore(BaseModel):
    name: str = Field(description="the attention module, e.g. blocks.0.attn or decoder.1.cross_attn")
    layer: int
    head: int
    scores: dict[str, float] = Field(description="behaviour -> mean attention weight where it says to look")
    labels: list[str] = Field(description=f"behaviours scoring >= {THRESHOLD}, highest first")


class HeadsOut(BaseModel):
    model: str
    threshold: float
    heads: list[HeadScore]


def _slot(request: Request, model_id: str) -> dict:
    """Per-model {lock, value} in app.state, created under the global lock."""
    with _LOCK:
        state = request.app.state
        if not hasattr(state, "head_scores"):
            state.head_scores = {}
        return state.head_scores.setdefault(model_id, {"lock": threading.Lock(), "value": None})


def cached_scores(request: Request, loaded) -> list[dict]:
    slot = _slot(request, loaded.id)
    with slot["lock"]:  # one computation per model; other models are not blocked
        if slot["value"] is None:
            slot["value"] = score_heads(loaded)
        return slot["value"]


@router.get("/models/{model_id}/heads", response_model=HeadsOut, responses=error_responses(404))
@handled
def heads(model_id: str, request: Request, models=Depends(get_models)):
    """Each head's score for previous-token, self, first-token, subject-verb, pronoun-antecedent and induction
    (decoders; alignment for cross-attention), measured on a fixed probe set from the model's own patterns."""
    loaded = get_model(models, model_id)
    return {"model": loaded.id, "threshold": THRESHOLD, "heads": cached_scores(request, loaded)}
