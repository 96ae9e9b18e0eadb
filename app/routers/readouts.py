"""Read-outs for the component pages: logit lens, residual norms, FFN sparsity, activation curve, position
table, shuffled-words check, attention under a chosen mask, and single weights. Everything is computed from
the loaded model's weights or one forward pass (model/inspect.py). Request and response bodies: app/schemas_readouts.py."""
from __future__ import annotations

import torch
from fastapi import Query

from app.deps import BodyModel, PathModel
from app.encoding import to_json_data
from app.errors import ApiError
from app.inputs import source_ids, target_ids
from app.routing import resource_router
from app.schemas import error_responses
from app.schemas_readouts import (CurveOut, FfnIn, FfnOut, LensIn, LensOut, MaskIn, MaskOut, NormsOut, PositionsOut,
                                 ShuffleIn, ShuffleOut, TextIn, WeightOut)
from model import inspect as ins
from model.hooks import public_name
from model.layers import build_mask
from model.transformer import run_with_cache
from model.zoo import LoadedModel

router = resource_router(tags=["readouts"])
MAX_WEIGHT_VALUES = 200_000


def _run(loaded: LoadedModel, body: TextIn, names=None, mask=None):
    """Tokenize (the same checks and messages as the core API, app/inputs.py), run one forward pass with
    capture; return (source ids, target ids or None, cache)."""
    src, tgt = source_ids(loaded, body.text), target_ids(loaded, body.target)
    _, cache = run_with_cache(loaded.model, src, tgt, names=names, mask=mask)
    return src, tgt, cache


def _words(loaded: LoadedModel, ids) -> list[str]:
    return loaded.tokenizer.decode(ids.tolist() if hasattr(ids, "tolist") else ids)


def _tokens_of(loaded: LoadedModel, stack: str, src, tgt) -> list[str]:
    return _words(loaded, src if stack in ("blocks", "encoder") else tgt)


def _cand(loaded: LoadedModel, i: int, p: float) -> dict:
    return {"token": loaded.tokenizer.vocab[i], "id": i, "prob": p}


@router.post("/logit-lens", response_model=LensOut, responses=error_responses(400, 404, 422))
def logit_lens(body: LensIn, loaded: BodyModel):
    """Each residual state (entering block 0, then leaving each block) put through the final norm and the
    unembedding, as if it were the last: the k most probable words per token. Encoder-decoder: decoder only."""
    src, tgt, cache = _run(loaded, body, names=ins.lens_points(loaded.model))
    lens = ins.logit_lens(loaded.model, cache, body.k)
    rows = [{"point": pt, "top": [[_cand(loaded, i, p) for i, p in cell] for cell in top]}
            for pt, top in zip(lens["points"], lens["top"])]
    tokens = _words(loaded, tgt if tgt is not None else src)
    return {"model": loaded.id, "tokens": tokens, "rows": rows}


@router.post("/residual-norms", response_model=NormsOut, responses=error_responses(400, 404, 422))
def residual_norms(body: TextIn, loaded: BodyModel):
    """L2 norm per token of the residual stream entering and leaving each block and of what attention
    (and cross-attention) and the FFN wrote into it."""
    src, tgt, cache = _run(loaded, body, names=["*hook_resid_pre", "*hook_resid_post", "*attn_out", "*hook_mlp_out"])
    stacks = [{"stack": s, "tokens": _tokens_of(loaded, s, src, tgt),
               "layers": ins.residual_norms(loaded.model, cache, s)} for s in ins.stacks(loaded.model)]
    return {"model": loaded.id, "stacks": stacks}


@router.post("/ffn-stats", response_model=FfnOut, responses=error_responses(400, 404, 422))
def ffn_stats(body: FfnIn, loaded: BodyModel):
    """Fraction of FFN hidden units whose activation is near zero, per token and per layer."""
    if not loaded.cfg.mlp:
        raise ApiError(422, "no_ffn", f"{loaded.id} has no feed-forward sublayer")
    src, tgt, cache = _run(loaded, body, names="*mlp.hook_post")
    out = []
    for s in ins.stacks(loaded.model):
        layers = []
        for l in range(loaded.cfg.n_layers):
            name = f"{s}.{l}.mlp.hook_post"
            layers.append({"name": name, **ins.ffn_sparsity(cache[name], body.threshold)})
        out.append({"stack": s, "tokens": _tokens_of(loaded, s, src, tgt), "layers": layers})
    return {"model": loaded.id, "act_fn": loaded.cfg.act_fn, "threshold": body.threshold, "stacks": out}


@router.get("/models/{model_id:path}/activation-fn", response_model=CurveOut, responses=error_responses(404, 422))
def activation_fn(loaded: PathModel, lo: float = Query(-4.0, ge=-100, le=100),
                  hi: float = Query(4.0, ge=-100, le=100), n: int = Query(161, ge=2, le=2001)):
    """The FFN's non-linearity evaluated on a grid (the function the model's MLP applies)."""
    if not lo < hi:
        raise ApiError(422, "invalid_range", f"lo must be below hi (got lo={lo}, hi={hi})")
    return {"model": loaded.id, **ins.activation_curve(loaded.cfg.act_fn, lo, hi, n)}


@router.get("/models/{model_id:path}/positions", response_model=PositionsOut, responses=error_responses(404, 422))
def positions(loaded: PathModel, n: int = Query(32, ge=1, le=4096)):
    """The first n rows of the position table the model adds to its token embeddings, and the cosine
    similarity between every pair of positions."""
    if loaded.cfg.pos_embed == "rotary":
        raise ApiError(422, "rotary_positions", f"{loaded.id} has rotary positions: no table is added to its "
                                                "embeddings; the queries and keys are rotated instead (trace "
                                                "blocks.0.attn.hook_rot_q / hook_rot_k)")
    return {"model": loaded.id, **ins.position_table(loaded.model, min(n, loaded.cfg.n_ctx))}


@router.post("/shuffle", response_model=ShuffleOut, responses=error_responses(400, 404, 422))
def shuffle(body: ShuffleIn, loaded: BodyModel):
    """Shuffle the words between the first and the last token and compare the model's next-word prediction
    at the last position before and after. Decoder-only models. Without positions and without a mask the
    model cannot tell the orders apart; a causal mask still lets order leak in (each position sees a prefix)."""
    if loaded.is_encoder_decoder:
        raise ApiError(422, "decoder_only", "the shuffle check runs on decoder-only models")
    ids = source_ids(loaded, body.text).tolist()
    if len(ids) < 4:  # <bos> + at least three words: the first and last stay, the ones between are shuffled
        raise ApiError(422, "too_short", f"the shuffle check needs at least three words, got {len(ids) - 1}; "
                                         "write a longer sentence")
    shuffled = ins.shuffled_words(ids, body.seed)
    mask = body.mask or loaded.cfg.self_attn_mask
    probs = [run_with_cache(loaded.model, torch.tensor(x), names=[], mask=mask)[0][-1].softmax(-1)
             for x in (ids, shuffled)]
    top = [[_cand(loaded, int(i), float(p[i])) for i in p.topk(5).indices] for p in probs]
    return {"model": loaded.id, "pos_embed": loaded.cfg.pos_embed, "mask": mask, "tokens": _words(loaded, ids),
            "shuffled_tokens": _words(loaded, shuffled), "top": top[0], "top_shuffled": top[1],
            "max_abs_diff": float((probs[0] - probs[1]).abs().max())}


@router.post("/masked-attention", response_model=MaskOut, responses=error_responses(400, 404, 422))
def masked_attention(body: MaskIn, loaded: BodyModel):
    """Self-attention of one layer re-run with a chosen mask (causal, padding or none): the allowed
    query/key matrix, the masked scores and the pattern. Encoder-decoder: the decoder's self-attention."""
    if body.layer >= loaded.cfg.n_layers:
        raise ApiError(422, "unknown_layer", f"layer must be 0..{loaded.cfg.n_layers - 1}, got {body.layer}")
    prefix = "decoder" if loaded.is_encoder_decoder else "blocks"
    name = f"{prefix}.{body.layer}.attn"
    src, tgt, cache = _run(loaded, body, names=[f"{name}.hook_attn_scores", f"{name}.hook_pattern"],
                           mask=body.mask)
    keys = tgt if tgt is not None else src
    allowed = build_mask(body.mask, len(keys), keys[None], loaded.cfg.pad_id)
    allowed = torch.ones(len(keys), len(keys), dtype=torch.bool) if allowed is None else allowed[0, 0]
    return {"model": loaded.id, "mask": body.mask, "layer_name": name, "tokens": _words(loaded, keys),
            "allowed": allowed.tolist(), "attn_scores": to_json_data(cache[f"{name}.hook_attn_scores"], 6),
            "pattern": to_json_data(cache[f"{name}.hook_pattern"], 6)}


def named_weights(loaded: LoadedModel) -> dict[str, torch.Tensor]:
    """Every parameter and buffer (the fixed sinusoidal position table is a buffer) under its public name."""
    out = {public_name(n): p for n, p in loaded.model.named_parameters()}
    out.update({public_name(n): b for n, b in loaded.model.named_buffers()})
    return out


@router.get("/models/{model_id:path}/weights", responses=error_responses(404))
def list_weights(loaded: PathModel) -> dict:
    """Names and shapes of every parameter and buffer of the model, in module order. `param` is false for
    buffers (the fixed sinusoidal position table), which are not learned and not counted as parameters."""
    params = {public_name(n) for n, _ in loaded.model.named_parameters()}
    return {"model": loaded.id, "n_params": sum(p.numel() for p in loaded.model.parameters()),
            "weights": [{"name": n, "shape": list(t.shape), "param": n in params}
                        for n, t in named_weights(loaded).items()]}


@router.get("/models/{model_id:path}/weights/{name}", response_model=WeightOut, responses=error_responses(404, 422))
def weight(loaded: PathModel, name: str):
    """One parameter or buffer, e.g. pos_embed.W_pos, blocks.0.ln1.w (γ), blocks.0.ln1.b (β)."""
    weights = named_weights(loaded)
    if name not in weights:
        raise ApiError(404, "unknown_weight", f"{loaded.id} has no weight {name!r}; list them at "
                                              f"/api/v1/models/{loaded.id}/weights")
    t = weights[name]
    if t.numel() > MAX_WEIGHT_VALUES:
        raise ApiError(422, "too_large", f"{name} has {t.numel()} values; at most {MAX_WEIGHT_VALUES} are served")
    return {"model": loaded.id, "name": name, "shape": list(t.shape), "data": to_json_data(t, 7)}
