"""POST /api/v1/tokenize: the pieces a model's tokenizer cuts a text into, with ids, raw bytes and character
spans (model/pieces.py); GET /api/v1/models/{id}/tokens: the display strings of given ids (a subword vocabulary
is too large to send whole). Nothing runs through the model."""
from __future__ import annotations

from fastapi import Query

from app.deps import BodyModel, PathModel
from app.errors import ApiError
from app.routing import resource_router
from app.schemas import error_responses
from app.schemas_tokenize import MAX_TOKEN_IDS, TokenizeIn, TokenizeOut, TokensOut
from model.pieces import describe, pieces

router = resource_router(tags=["tokenize"])


@router.post("/tokenize", response_model=TokenizeOut, response_model_exclude_none=True,
             responses=error_responses(400, 404, 422))
def tokenize(body: TokenizeIn, loaded: BodyModel):
    """Cut `text` into the model's tokens: each token's id, display string, raw bytes (byte-level tokenizers),
    character span in the text, and whether it is special or the unknown token. The ids are exactly the
    tokenizer's encoding of the text; `input_ids` adds what the model adds (its start token). A text longer than
    the model's context is still tokenized: this is where one sees how long it is."""
    if not body.text:
        raise ApiError(422, "empty_text", "the text is empty; type a few words, e.g. \"the cat\"")
    tok = loaded.tokenizer
    info = describe(tok)
    found = pieces(tok, body.text)
    if not found:
        raise ApiError(422, "empty_text", f"the text has no tokens for {loaded.id}'s {info.kind} tokenizer (it "
                                          "skips white space); type a few words, e.g. \"the cat\"")
    return {
        "model": loaded.id,
        "tokenizer": {"kind": info.kind, "byte_level": info.byte_level, "vocab_size": info.vocab_size,
                      "specials": [{"id": i, "token": t} for i, t in info.specials]},
        "tokens": [{"id": p.id, "piece": p.piece, "bytes": None if p.bytes is None else list(p.bytes),
                    "start": p.start, "end": p.end, "special": p.special, "unknown": p.unknown} for p in found],
        "input_ids": loaded.encode(body.text),
        "n_ctx": loaded.cfg.n_ctx,
    }


@router.get("/models/{model_id:path}/tokens", response_model=TokensOut, responses=error_responses(404, 422))
def tokens(loaded: PathModel, ids: str = Query(description=f"comma-separated token ids, at most {MAX_TOKEN_IDS}",
                                                  examples=["0,17,256"])):
    """The display string of each id (what a trace's `tokens` show), e.g. to label the top logits of a model
    whose vocabulary is not in its details."""
    try:
        wanted = [int(i) for i in ids.split(",") if i.strip()]
    except ValueError:
        raise ApiError(422, "invalid_ids", f"ids must be comma-separated integers, e.g. ids=0,17,256; got {ids[:40]!r}") from None
    n = len(loaded.tokenizer.vocab)
    bad = [i for i in wanted if not 0 <= i < n]
    if not wanted or len(wanted) > MAX_TOKEN_IDS or bad:
        raise ApiError(422, "invalid_ids", f"give 1 to {MAX_TOKEN_IDS} ids in 0..{n - 1}"
                                           + (f"; not in the vocabulary: {bad[:5]}" if bad else ""))
    return {"model": loaded.id, "tokens": [{"id": i, "token": loaded.tokenizer.vocab[i]} for i in wanted]}
