"""POST /api/v1/generate: seeded sampling, one step per new token with the candidates it was drawn from."""
from __future__ import annotations

from app.deps import BodyModel
from app.inputs import require_next_token, source_ids
from app.routing import resource_router
from app.schemas import GenerateIn, GenerateOut, error_responses
from model.sampling import generate as sample_tokens

router = resource_router(tags=["sampling"])


@router.post("/generate", response_model=GenerateOut, responses=error_responses(400, 404, 422))
def generate(body: GenerateIn, loaded: BodyModel):
    """Continue `text` (decoder-only) or translate it (encoder-decoder, starting from <bos>) for up to
    `max_new_tokens` tokens, stopping at <eos> or at the context limit. Same seed and inputs, same output."""
    require_next_token(loaded)
    src = source_ids(loaded, body.text)
    ids, steps = sample_tokens(loaded, body.text, body.max_new_tokens, body.temperature, body.top_k, body.top_p,
                               body.seed, body.n_candidates)
    tok = loaded.tokenizer
    return {"model": loaded.id, "prompt_tokens": tok.decode(src.tolist()), "tokens": tok.decode(ids),
            "text": tok.detokenize(ids), "seed": body.seed,
            "steps": [{"token": s.token, "id": s.id, "prob": s.prob, "candidates": s.candidates} for s in steps]}
