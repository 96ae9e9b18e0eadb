"""Request and response bodies of the core API (models, trace, next-token, masked-token, generate, param-count).

Limits are part of the contract and appear in /openapi.json: text length in characters (MAX_TEXT_CHARS; the
model's n_ctx bounds the tokens), names per trace (MAX_NAMES), generation steps (MAX_NEW_TOKENS), and the
number of values a trace may return (MAX_TRACE_VALUES: computed from the names' shapes before the forward -> 413,
and checked again while capturing as a safety net).
"""
from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

MAX_TEXT_CHARS = 2000
MAX_NAMES = 64
MAX_NEW_TOKENS = 64
MAX_CANDIDATES = 50
MAX_TRACE_VALUES = 20_000_000
MAX_NAME_CHARS = 200
MAX_HEADS = 64  # entries in a trace's `heads`
MAX_HEAD_INDEX = 4095


# ---- errors -------------------------------------------------------------------------------------------------
class ErrorDetail(BaseModel):
    code: str = Field(description="machine-readable reason, e.g. unknown_model, empty_text, text_too_long")
    message: str = Field(description="what went wrong and what to do about it")


class ErrorOut(BaseModel):
    error: ErrorDetail


def error_responses(*statuses: int) -> dict:
    """`responses=` for a route: each status documented with the error body."""
    text = {400: "Malformed JSON", 404: "Unknown model", 413: "Trace too large",
            422: "Invalid input (validation, empty or over-long text, bad sampling parameters, unknown names)"}
    return {s: {"model": ErrorOut, "description": text.get(s, "Error")} for s in statuses}


# ---- models -------------------------------------------------------------------------------------------------
class ModelSummary(BaseModel):
    id: str = Field(examples=["tiny-gpt"])
    arch: Literal["decoder", "encoder", "encoder_decoder"]
    description: str
    config: dict[str, Any] = Field(description="the ModelConfig fields (model/config.py), plus d_head")
    n_params: int = Field(description="learned parameters (sum of numel; the sinusoidal table is a buffer, not counted)")
    vocab_size: int


class WeightInfo(BaseModel):
    name: str = Field(description="parameter name inside its module, e.g. W_Q")
    shape: list[int]
    numel: int


class ModuleNode(BaseModel):
    path: str = Field(description="public module path (the prefix of its activation names), '' for the root")
    type: str = Field(description="class name, e.g. Attention, LayerNorm, MLP")
    n_params: int = Field(description="parameters of this module and everything under it")
    params: list[WeightInfo] = Field(description="parameters owned directly by this module")
    children: list["ModuleNode"]


class ActivationName(BaseModel):
    name: str = Field(examples=["blocks.0.attn.hook_pattern"])
    dims: list[str] = Field(examples=[["head", "query_pos", "key_pos"]])
    description: str
    extra: bool = Field(description="true for a name TransformerLens does not have (e.g. ln1.hook_out, hook_logits); "
                                    "a name that is not extra means exactly what it means in TransformerLens")


class StepView(BaseModel):
    title: str
    text: str
    merge: list[str] = Field(description="two adjacent dims drawn flattened into one", examples=[["head", "d_head"]])


class AttentionInfo(BaseModel):
    id: str = Field(description="the family of attention layers: self (a single stack), encoder, decoder, cross",
                    examples=["cross"])
    label: str = Field(examples=["cross-attention (target over source)"])
    mask: Literal["causal", "padding", "none"] = Field(description="what the scores hide")
    window: int | None = Field(description="sliding window of a causal mask (keys further back are hidden)")
    n_heads: int = Field(description="query heads (rows of the pattern)")
    n_kv_heads: int = Field(description="key/value heads (fewer under grouped-query attention)")


class Step(BaseModel):
    name: str = Field(description="a short title of the step", examples=["rotated keys"])
    hook: str = Field(description="the activation name it is captured under", examples=["blocks.0.attn.hook_rot_k"])
    dims: list[str] = Field(examples=[["key_pos", "kv_head", "d_head"]])
    description: str
    component: str = Field(description="public path of the module that computes it ('' for the model)",
                           examples=["blocks.0.attn"])
    kind: str = Field(description="that module's kind: attention, mlp, layer_norm, rms_norm, block, stack, ...")
    extra: bool = Field(description="true for a name TransformerLens does not have")
    title: str = Field(description="the step's title on a page, with this model's numbers",
                       examples=["Rotary: rotate the keys"])
    text: str = Field(description="one or two sentences on what the step computes, with this model's numbers")
    stage: str = Field(description="id of the stage (part of the forward pass) it belongs to", examples=["blocks.0"])
    layer: int | None = Field(description="the block's index inside its stack; null outside the blocks")
    positions: dict[str, Literal["source", "target"]] = Field(
        description="for each position dim, the tokens it runs over: source = the trace's `tokens`, target = its "
                    "`target_tokens` (cross-attention's key_pos is the source)", examples=[{"pos": "source"}])
    with_: list[str] = Field(alias="with", serialization_alias="with",
                             description="other activations drawn in the same step (K and V with Q; a norm's mean "
                                         "and scale with its normalized value)")
    part_of: str | None = Field(description="the activation whose step draws this one (no step of its own on a "
                                            "page); null for a step of its own")
    views: list[StepView] = Field(description="further steps drawn from the same activation")
    attention: AttentionInfo | None = Field(description="for an attention module's activations: which layer "
                                                        "family, mask and heads")


class Stage(BaseModel):
    id: str = Field(examples=["blocks.0", "encoder.embed", "output"])
    title: str = Field(examples=["Block 0", "Encoder input", "Output"])
    side: Literal["source", "target"] = Field(description="the tokens its positions run over")
    reads_tokens: bool = Field(description="true for the input of a stack (its first step reads the token ids)")
    names: list[str] = Field(description="globs for POST /api/v1/trace `names` that select this stage's "
                                         "activations", examples=[["blocks.0.*"]])


class ModelDetail(ModelSummary):
    architecture: ModuleNode
    activation_names: list[ActivationName]
    steps: list[Step] = Field(description="the forward pass in order, one step per activation, as the model's "
                                          "components declare them (model/steps.py), with what a page needs to "
                                          "draw each")
    stages: list[Stage] = Field(description="the parts of the forward pass in order: the input of each stack, each "
                                            "block, the encoder's output, the output")
    vocab: list[str] | None = Field(description="the word-level vocabulary, index = token id; null for subword "
                                                "tokenizers (BPE, WordPiece, SentencePiece), whose vocabularies are "
                                                "large")
    training: dict[str, Any] = Field(description="the checkpoint's training record (steps, losses, ...)")
    metrics: dict[str, Any] | None = Field(None, description="evaluation metrics stored with the checkpoint, if any")


# ---- trace --------------------------------------------------------------------------------------------------
class TextOnly(BaseModel):
    model: str = Field(description="model id, e.g. tiny-gpt (GET /api/v1/models lists them)", examples=["tiny-gpt"])
    text: str = Field(max_length=MAX_TEXT_CHARS, examples=["the cat sat on the mat"],
                      description=f"input text, at most {MAX_TEXT_CHARS} characters and the model's n_ctx tokens; "
                                  "for an encoder-decoder, the source sentence")


class TextBody(TextOnly):
    target: str | None = Field(None, max_length=MAX_TEXT_CHARS,
                               description="encoder-decoder only: the decoder input written so far (after <bos>)")


class TraceIn(TextBody):
    names: list[Annotated[str, Field(max_length=MAX_NAME_CHARS)]] | None = Field(
        None, max_length=MAX_NAMES, examples=[["blocks.0.attn.hook_pattern", "*resid_post"]],
        description=f"activation names or globs (fnmatch: * ? [..]); omitted = all. At most {MAX_NAMES} entries of "
                    f"at most {MAX_NAME_CHARS} characters; each must match at least one activation")
    precision: int = Field(5, ge=1, le=10, description="significant digits of each returned value")
    heads: list[Annotated[int, Field(ge=0, le=MAX_HEAD_INDEX)]] | None = Field(
        None, min_length=1, max_length=MAX_HEADS, examples=[[0, 2]],
        description="keep only these attention heads (distinct indices < the model's n_heads, returned in this "
                    "order) in every activation with a `head` dim (q, k, v, scores, pattern, z, result); other "
                    "activations are whole. Omitted = all heads")


class Activation(BaseModel):
    dims: list[str]
    shape: list[int]
    data: Any = Field(description="nested lists with this shape; -inf (masked attention scores) is null")


class TraceOut(BaseModel):
    model: str
    tokens: list[str] = Field(description="the input tokens (source side for an encoder-decoder)")
    target_tokens: list[str] | None = Field(None, description="encoder-decoder: the decoder input tokens")
    activations: dict[str, Activation]


# ---- next token ---------------------------------------------------------------------------------------------
class SamplingParams(BaseModel):
    temperature: float = Field(1.0, gt=0, allow_inf_nan=False, description="> 0 and finite; logits are divided by it")
    top_k: int | None = Field(None, ge=1, description="keep the k most probable tokens (>= 1); omitted = all")
    top_p: float | None = Field(None, gt=0, le=1, allow_inf_nan=False,
                                description="keep the smallest most-probable set with this mass, in (0, 1]")


class PredictionParams(SamplingParams):
    """What a one-position prediction (next token, masked token) sends back besides the candidates."""
    n_candidates: int = Field(10, ge=1, le=MAX_CANDIDATES, description="how many candidates to list")
    full: bool = Field(False, description="also send `probs` and `logits` over the whole vocabulary (a client that "
                                          "re-filters itself, as the sampling page does); by default they are null, "
                                          "so that a 50,000-token vocabulary does not make every answer ~2 MB")


class NextTokenIn(TextBody, PredictionParams):
    pass


class MaskedTokenIn(TextOnly, PredictionParams):
    text: str = Field(max_length=MAX_TEXT_CHARS, examples=["The children walked to the [MASK] after school."],
                      description=f"input text with at least one mask token ([MASK] for BERT), at most "
                                  f"{MAX_TEXT_CHARS} characters and the model's n_ctx tokens")
    position: int | None = Field(None, ge=0, examples=[5],
                                 description="index in `tokens` ([CLS] is 0) of the mask token to predict; it must "
                                             "be one of `mask_positions`. Omitted = the first mask token")


class Candidate(BaseModel):
    token: str
    id: int
    logit: float = Field(description="raw logit (before temperature)")
    prob: float = Field(description="probability after temperature, top-k and top-p")


class Prediction(BaseModel):
    """The distribution at one position, after the filters: shared by next-token and masked-token."""
    candidates: list[Candidate] = Field(description="most probable tokens after the filters (never a filtered one)")
    entropy: float = Field(description="entropy of the filtered distribution, in nats")
    temperature: float
    top_k: int | None
    top_p: float | None
    cut_by_top_k: float = Field(description="probability mass (at this temperature) removed by top-k")
    cut_by_top_p: float = Field(description="further mass removed by top-p, before renormalising")
    probs: list[float] | None = Field(None, description="with `full`: the filtered distribution over the whole "
                                                        "vocabulary (index = id); null otherwise")
    logits: list[float] | None = Field(None, description="with `full`: the raw logits of the predicted position over "
                                                         "the whole vocabulary, so a client can re-apply temperature / "
                                                         "top-k / top-p itself (model/sampling.py order); null "
                                                         "otherwise")


class NextTokenOut(Prediction):
    model: str
    tokens: list[str] = Field(description="input tokens; the prediction follows the last one (decoder-only)")
    target_tokens: list[str] | None = Field(None, description="encoder-decoder: decoder input; prediction follows it")


class MaskedTokenOut(Prediction):
    model: str
    tokens: list[str] = Field(description="input tokens, [CLS] and [SEP] included")
    position: int = Field(description="the index in `tokens` of the mask token predicted")
    mask_positions: list[int] = Field(description="every mask token of the input, in order (a client picks one as "
                                                  "`position`)")


# ---- generate -----------------------------------------------------------------------------------------------
class GenerateIn(TextOnly, SamplingParams):
    max_new_tokens: int = Field(16, ge=1, le=MAX_NEW_TOKENS, description=f"1..{MAX_NEW_TOKENS}; stops earlier at <eos> "
                                                                          "or at the context limit")
    seed: int = Field(0, ge=0, le=2**63 - 1, description="same seed and inputs -> same output")
    n_candidates: int = Field(5, ge=1, le=MAX_CANDIDATES, description="candidates listed per step")


class GenerateStep(BaseModel):
    token: str
    id: int
    prob: float = Field(description="probability of the chosen token in the filtered distribution")
    candidates: list[Candidate]


class GenerateOut(BaseModel):
    model: str
    prompt_tokens: list[str]
    tokens: list[str] = Field(description="the generated tokens")
    text: str = Field(description="the generated tokens joined as text (specials left out)")
    seed: int
    steps: list[GenerateStep]


# ---- param count --------------------------------------------------------------------------------------------
class ParamBreakdown(BaseModel):
    embeddings: int = Field(description="token embedding W_E [vocab, d_model]")
    positions: int = Field(description="learned position table W_pos [n_ctx, d_model]; 0 for sinusoidal / none")
    attention: int = Field(description="W_Q, W_K, W_V, W_O of every (self and cross) attention layer")
    ffn: int = Field(description="W_in, W_out (and SwiGLU's W_gate) of every FFN")
    layer_norms: int = Field(description="γ and β of every layer norm")
    biases: int = Field(description="attention and FFN biases, and the unembedding bias b_U")
    unembedding: int = Field(description="W_U [d_model, vocab]; 0 when tied to the embedding")


class ParamCountOut(BaseModel):
    preset: str | None
    config: dict[str, Any]
    total: int
    breakdown: ParamBreakdown
    per_layer: int = Field(description="parameters of one block (one encoder block + one decoder block for an "
                                       "encoder-decoder)")
    published: int | None = Field(None, description="the figure usually quoted for the preset")
    note: str | None = Field(None, description="why our count differs from the published one, for presets")
