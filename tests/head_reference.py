"""Head scores of the shipped models computed once per test process, on models loaded independently of any app
(score_heads is deterministic for given weights, so one computation serves every test that compares with it)."""
from __future__ import annotations

from functools import cache
from pathlib import Path

from model import zoo
from model.heads import score_heads


@cache
def reference_head_scores(model_id: str, checkpoint_dir: Path = zoo.CHECKPOINT_DIR) -> list[dict]:
    return score_heads(zoo.load(model_id, checkpoint_dir))
