"""Request and response bodies of the read-outs behind the component pages (app/routers/readouts.py). Text
fields share the core API's limits (app/schemas.py), so an over-long text is refused before it is tokenized."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from app.schemas import MAX_TEXT_CHARS, TextBody, TextOnly


class TextIn(TextBody):
    """model, text (<= MAX_TEXT_CHARS characters) and, for an encoder-decoder, target."""


class LensIn(TextIn):
    k: int = Field(3, ge=1, le=10, description="how many best words to return per cell")


class Candidate(BaseModel):
    token: str
    id: int
    prob: float


class LensRow(BaseModel):
    point: str = Field(description="activation name of the residual state read, e.g. blocks.0.hook_resid_post")
    top: list[list[Candidate]] = Field(description="[pos] -> the k most probable words if this state were the last")


class LensOut(BaseModel):
    model: str
    tokens: list[str] = Field(description="tokens whose residual states are read (decoder side)")
    rows: list[LensRow]


class NormsLayer(BaseModel):
    layer: int
    hook_resid_pre: list[float]
    hook_attn_out: list[float]
    hook_cross_attn_out: list[float] | None = None
    hook_mlp_out: list[float] | None = None
    hook_resid_post: list[float]


class NormsStack(BaseModel):
    stack: str = Field(description="blocks, encoder or decoder")
    tokens: list[str]
    layers: list[NormsLayer]


class NormsOut(BaseModel):
    model: str
    stacks: list[NormsStack]


class FfnIn(TextIn):
    threshold: float = Field(0.05, gt=0, le=10, description="|activation| below this counts as near zero")


class FfnLayer(BaseModel):
    name: str = Field(description="activation name of the FFN hidden layer after the activation (hook_post)")
    per_token: list[float]
    overall: float


class FfnOut(BaseModel):
    model: str
    act_fn: str
    threshold: float
    stacks: list[dict] = Field(description="[{stack, tokens, layers: [FfnLayer]}]")


class CurveOut(BaseModel):
    model: str
    fn: str
    x: list[float]
    y: list[float]


class PositionsOut(BaseModel):
    model: str
    kind: str = Field(description="sinusoidal, learned or none")
    table: list[list[float]] = Field(description="[pos, d_model] the vectors added to the token embeddings")
    similarity: list[list[float]] = Field(description="[pos, pos] cosine similarity between rows of the table")


class ShuffleIn(TextOnly):
    seed: int = 0
    mask: Literal["causal", "padding", "none"] | None = Field(
        None, description="self-attention mask to run with; default: the model's own")


class ShuffleOut(BaseModel):
    model: str
    pos_embed: str
    mask: str = Field(description="the self-attention mask used")
    tokens: list[str]
    shuffled_tokens: list[str]
    top: list[Candidate] = Field(description="next-word prediction at the last position, original order")
    top_shuffled: list[Candidate] = Field(description="the same after shuffling the words in between")
    max_abs_diff: float = Field(description="largest difference between the two next-word distributions")


class MaskIn(TextIn):
    mask: Literal["causal", "padding", "none"]
    layer: int = Field(0, ge=0)


class MaskOut(BaseModel):
    model: str
    mask: str
    layer_name: str = Field(description="the attention layer shown, e.g. blocks.0.attn")
    tokens: list[str]
    allowed: list[list[bool]] = Field(description="[query_pos, key_pos] True where the query may look at the key")
    attn_scores: list = Field(description="[head, query_pos, key_pos], null where masked (-inf)")
    pattern: list = Field(description="[head, query_pos, key_pos] softmax over keys")


class WeightOut(BaseModel):
    model: str
    name: str
    shape: list[int]
    data: list | float
