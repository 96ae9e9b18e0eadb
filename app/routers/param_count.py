"""GET /api/v1/param-count: parameters per component for any configuration or a named preset
(model/param_count.py reads them from one block per stack built on the meta device: no memory is used)."""
from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Query
from pydantic import BeforeValidator, Field

from app.errors import ApiError
from app.routing import resource_router
from app.schemas import ParamCountOut, error_responses
from model.config import ModelConfig
from model.param_count import PRESETS, count

router = resource_router(tags=["param-count"])
Preset = Literal["transformer-base-2017", "gpt2-small", "bert-base", "llama3-8b", "gpt3"]
BIG = 10**7
# an empty choice (a form's select with no matching option) means "not given": the preset's value stands
Blank = BeforeValidator(lambda v: None if v == "" else v)
Arch = Annotated[Literal["decoder", "encoder", "encoder_decoder"] | None, Blank]
ActFn = Annotated[Literal["relu", "gelu", "gelu_new", "silu", "swiglu"] | None, Blank]
PosEmbed = Annotated[Literal["sinusoidal", "sinusoidal_halves", "learned", "rotary", "none"] | None, Blank]
Norm = Annotated[Literal["pre", "post", "none"] | None, Blank]
NormType = Annotated[Literal["layer", "rms"] | None, Blank]
LMHead = Annotated[Literal["linear", "mlm"] | None, Blank]


def Count(lo: int, hi: int):  # noqa: N802 - a type
    """An integer in [lo, hi], or blank (None: the preset's, or the default, value)."""
    return Annotated[Annotated[int, Field(ge=lo, le=hi)] | None, Blank]


Flag = Annotated[bool | None, Blank]


@router.get("/param-count", response_model=ParamCountOut, responses=error_responses(422))
def param_count(
    preset: Preset | None = Query(None, description="start from a published configuration; other inputs override it"),
    arch: Annotated[Arch, Query(description="decoder, encoder (BERT) or encoder_decoder")] = None,
    vocab: int | None = Query(None, ge=1, le=BIG, description="vocabulary size"),
    d_model: int | None = Query(None, ge=1, le=10**6),
    n_heads: int | None = Query(None, ge=1, le=10**5, description="must divide d_model"),
    n_layers: int | None = Query(None, ge=1, le=10**5, description="blocks (per stack for an encoder-decoder)"),
    d_mlp: int | None = Query(None, ge=1, le=10**7),
    n_ctx: int | None = Query(None, ge=1, le=BIG, description="context length (counts only for learned positions)"),
    act_fn: Annotated[ActFn, Query(description="swiglu adds a third FFN matrix; the others count alike")] = None,
    pos_embed: Annotated[PosEmbed, Query(description="only learned positions have parameters")] = None,
    norm: Annotated[Norm, Query(description="where the norms sit: pre (before each sublayer), post (after the "
                                            "residual add) or none")] = None,
    norm_type: Annotated[NormType, Query(description="layer (LayerNorm: γ and β) or rms (RMSNorm: γ only)")] = None,
    n_kv_heads: Annotated[Count(1, 10**5), Query(description="key/value heads (grouped-query attention); "
                                                                   "must divide n_heads; blank: the preset's (n_heads without one)")] = None,
    head_dim: Annotated[Count(1, 10**5), Query(description="d_head when it is not d_model / n_heads")] = None,
    tie_embeddings: Annotated[Flag, Query(description="unembedding = transpose of the token embedding")] = None,
    mlp: Annotated[Flag, Query(description="false removes the FFN from every block")] = None,
    attn_bias: Annotated[Flag, Query(description="b_Q, b_K, b_V exist (GPT-2, BERT, Qwen2; not Llama)")] = None,
    attn_out_bias: Annotated[Flag, Query(description="b_O exists")] = None,
    mlp_bias: Annotated[Flag, Query(description="b_in, b_out (and b_gate) exist")] = None,
    unembed_bias: Annotated[Flag, Query(description="the unembedding bias b_U exists")] = None,
    n_token_types: Annotated[Count(0, 10**3), Query(description="rows of the token-type embedding (BERT: "
                                                                      "2); 0 = none")] = None,
    embed_norm: Annotated[Flag, Query(description="a norm on the summed embeddings (BERT)")] = None,
    lm_head: Annotated[LMHead, Query(description="linear, or mlm: BERT's dense + norm before the unembedding")] = None,
):
    """Total and per-component parameter count of any configuration the core builds (decoder, encoder or
    encoder-decoder; LayerNorm or RMSNorm; grouped-query attention; biases present or not; BERT's token types,
    embedding norm and MLM head). Without a preset, unspecified inputs take the ModelConfig defaults
    (model/config.py). Activations other than swiglu and positions other than learned add no parameters. The figure must equal sum(p.numel()) of the model built from the same config."""
    base = PRESETS[preset]["config"] if preset else ModelConfig()
    given = {"arch": arch, "vocab_size": vocab, "d_model": d_model, "n_heads": n_heads, "n_layers": n_layers,
             "d_mlp": d_mlp, "n_ctx": n_ctx, "act_fn": act_fn, "pos_embed": pos_embed, "norm": norm,
             "norm_type": norm_type, "n_kv_heads": n_kv_heads, "head_dim": head_dim, "tie_embeddings": tie_embeddings,
             "mlp": mlp, "attn_bias": attn_bias, "attn_out_bias": attn_out_bias, "mlp_bias": mlp_bias,
             "unembed_bias": unembed_bias, "n_token_types": n_token_types, "embed_norm": embed_norm,
             "lm_head": lm_head}
    try:
        cfg = base.replace(**{k: v for k, v in given.items() if v is not None})
    except ValueError as e:
        raise ApiError(422, "invalid_config", f"{e}: change n_heads, d_model, n_kv_heads or head_dim") from e
    out = count(cfg)
    changed = preset is not None and cfg != base
    return {"preset": preset, "config": {**cfg.to_dict(), "d_head": cfg.d_head}, **out,
            "published": PRESETS[preset]["published"] if preset and not changed else None,
            "note": PRESETS[preset]["note"] if preset and not changed else None}
