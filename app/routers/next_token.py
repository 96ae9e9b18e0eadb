"""POST /api/v1/next-token: the distribution over the next token after temperature, top-k and top-p."""
from __future__ import annotations

from app.deps import BodyModel
from app.inputs import require_next_token, source_ids, target_ids
from app.encoding import json_response
from app.prediction import prediction
from app.routing import resource_router
from app.schemas import NextTokenIn, NextTokenOut, error_responses
from model.transformer import run_with_cache

router = resource_router(tags=["sampling"])


@router.post("/next-token", response_model=NextTokenOut, responses=error_responses(400, 404, 422))
def next_token(body: NextTokenIn, loaded: BodyModel):
    """What the model predicts after the last token of `text` (decoder-only) or after the last token of the
    decoder input `target` (encoder-decoder, translating `text`). `candidates` are after the filters
    (transformers' warpers, in the order temperature -> top-k -> top-p). With `full`, `probs` is the filtered
    distribution over the whole vocabulary and `logits` the raw scores, so a client can re-filter. An
    encoder-only model (BERT) is refused: it predicts masked tokens (POST /api/v1/masked-token)."""
    require_next_token(loaded)
    src = source_ids(loaded, body.text)
    tgt = target_ids(loaded, body.target)
    logits, _ = run_with_cache(loaded.model, src, tgt, names=[])
    return json_response({"model": loaded.id, "tokens": loaded.tokenizer.decode(src.tolist()),
                          "target_tokens": loaded.tokenizer.decode(tgt.tolist()) if tgt is not None else None,
                          **prediction(logits[-1], body, loaded.tokenizer.vocab)})
