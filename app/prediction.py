"""The answer of a one-position prediction (POST /next-token, POST /masked-token): the filtered distribution of
one row of logits, its candidates, and, with `full`, the whole-vocabulary vectors."""
from __future__ import annotations

import torch

from model.sampling import filter_logits, top_candidates

from .schemas import PredictionParams


def prediction(row: torch.Tensor, body: PredictionParams, vocab: list[str]) -> dict:
    """`row`: the raw logits [d_vocab] of the predicted position. The filters are transformers' warpers in
    generate's order (model/sampling.py)."""
    f = filter_logits(row, body.temperature, body.top_k, body.top_p)
    return {"candidates": top_candidates(row, f, vocab, body.n_candidates), "entropy": f.entropy,
            "temperature": body.temperature, "top_k": body.top_k, "top_p": body.top_p,
            "cut_by_top_k": f.cut_by_top_k, "cut_by_top_p": f.cut_by_top_p,
            "probs": f.probs.tolist() if body.full else None,
            "logits": row.float().tolist() if body.full else None}
