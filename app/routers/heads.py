"""GET /api/v1/models/{id}/heads: every attention head scored for known behaviours (model/heads.py), with the
labels it earns. Computed on the first request for a model (well under a second for the shipped models on one
thread), then kept for the app's lifetime (app/once.py: concurrent first requests compute it once)."""
from __future__ import annotations

from pydantic import BaseModel, Field

from app.deps import OnceDep, PathModel
from app.routing import resource_router
from app.schemas import error_responses
from model import heads as head_scores
from model.heads import THRESHOLD

router = resource_router(tags=["heads"])


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


@router.get("/models/{model_id:path}/heads", response_model=HeadsOut, responses=error_responses(404))
def heads(loaded: PathModel, once: OnceDep):
    """Each head's score for previous-token, self, first-token, subject-verb, pronoun-antecedent and induction
    (decoders; alignment for cross-attention), measured on a fixed probe set from the model's own patterns."""
    scores = once.get(("head_scores", loaded.id), lambda: head_scores.score_heads(loaded))
    return {"model": loaded.id, "threshold": THRESHOLD, "heads": scores}
