"""POST /api/v1/next-token: the distribution over the next word after temperature, top-k and top-p."""
from __future__ import annotations

from app.deps import BodyModel
from app.inputs import require_next_token, source_ids, target_ids
from app.routing import resource_router
from app.schemas import NextTokenIn, NextTokenOut, error_responses
from model.sampling import filter_logits, top_candidates
from model.transformer import run_with_cache

router = resource_router(tags=["sampling"])


@router.post("/next-token", response_model=NextTokenOut, responses=error_responses(400, 404, 422))
def next_token(body: NextTokenIn, loaded: BodyModel):
    """What the model predicts after the last token of `text` (decoder-only) or after the last token of the
    decoder input `target` (encoder-decoder, translating `text`). `probs` and `candidates` are after the
    filters (transformers' warpers, in the order temperature -> top-k -> top-p); `logits` are the raw scores so a
    client can re-filter."""
    require_next_token(loaded)
    src = source_ids(loaded, body.text)
    tgt = target_ids(loaded, body.target)
    logits, _ = run_with_cache(loaded.model, src, tgt, names=[])
    last = logits[-1]
    f = filter_logits(last, body.temperature, body.top_k, body.top_p)
    vocab = loaded.tokenizer.vocab
    return {"model": loaded.id, "tokens": loaded.tokenizer.decode(src.tolist()),
            "target_tokens": loaded.tokenizer.decode(tgt.tolist()) if tgt is not None else None,
            "candidates": top_candidates(last, f, vocab, body.n_candidates), "entropy": f.entropy,
            "temperature": body.temperature, "top_k": body.top_k, "top_p": body.top_p,
            "cut_by_top_k": f.cut_by_top_k, "cut_by_top_p": f.cut_by_top_p,
            "probs": f.probs.tolist(), "logits": last.float().tolist()}
