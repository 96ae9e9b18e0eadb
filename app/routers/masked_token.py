"""POST /api/v1/masked-token: what an encoder-only model (BERT) predicts under a mask token, after temperature,
top-k and top-p: the masked-LM counterpart of /next-token."""
from __future__ import annotations

from app.deps import BodyModel
from app.inputs import masked_position, require_masked_lm, source_ids
from app.encoding import json_response
from app.prediction import prediction
from app.routing import resource_router
from app.schemas import MaskedTokenIn, MaskedTokenOut, error_responses
from model.transformer import run_with_cache

router = resource_router(tags=["sampling"])


@router.post("/masked-token", response_model=MaskedTokenOut, responses=error_responses(400, 404, 422))
def masked_token(body: MaskedTokenIn, loaded: BodyModel):
    """The distribution over the token hidden under the mask token at `position` (default: the first [MASK]),
    read by an encoder-only model with its masked-LM head from the whole text ([CLS] text [SEP], both sides of
    the mask). The filters and the answer are those of /next-token. Refused with 422: a decoder or
    encoder-decoder model (`not_masked_lm`), a text without a mask token (`no_mask`), a `position` that is not
    a mask token of the text (`invalid_position`)."""
    mask = require_masked_lm(loaded)
    src = source_ids(loaded, body.text)
    ids = src.tolist()
    position, masks = masked_position(loaded, mask, ids, body.position)
    logits, _ = run_with_cache(loaded.model, src, names=[])
    return json_response({"model": loaded.id, "tokens": loaded.tokenizer.decode(ids), "position": position,
                          "mask_positions": masks, **prediction(logits[position], body, loaded.tokenizer.vocab)})
