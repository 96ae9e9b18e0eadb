"""Request and response bodies of POST /api/v1/tokenize (app/routers/tokenize.py): how a model's tokenizer cut a
text into tokens (model/pieces.py). The text has the core API's limit (app/schemas.py), checked before any work."""
from __future__ import annotations

from pydantic import BaseModel, Field

from app.schemas import MAX_TEXT_CHARS


class TokenizeIn(BaseModel):
    model: str = Field(description="model id, e.g. tiny-gpt (GET /api/v1/models lists them)", examples=["tiny-gpt"])
    text: str = Field(max_length=MAX_TEXT_CHARS, examples=["My neighbour's robot vacuum adopted a sock."],
                      description=f"the text to cut into tokens, at most {MAX_TEXT_CHARS} characters. It may be "
                                  "longer than the model's n_ctx tokens (the answer says how many the model reads)")


class SpecialToken(BaseModel):
    id: int
    token: str = Field(description="the special token as it is written, e.g. <|endoftext|>, <unk>, [CLS]")


class TokenizerOut(BaseModel):
    kind: str = Field(description="word (the course models' word-level vocabulary), bpe, wordpiece, sentencepiece, "
                                  "unigram or wordlevel", examples=["bpe"])
    byte_level: bool = Field(description="every token is a sequence of bytes, so any text can be written and no "
                                         "part of it is ever unknown")
    vocab_size: int
    specials: list[SpecialToken] = Field(description="the vocabulary's special tokens, by id")


class TokenOut(BaseModel):
    id: int = Field(description="the token's id: its row of the embedding matrix")
    piece: str = Field(description="the token's display string (as in every other answer): its exact text with a "
                                   "leading space kept; bytes of a character that are split over several tokens as "
                                   "<0xHH>")
    bytes: list[int] | None = Field(None, description="the token's raw bytes (0-255), for byte-level tokens and "
                                                      "byte-fallback tokens; left out otherwise")
    start: int | None = Field(None, description="character offset where the token's text starts (Python string "
                                                "index: an emoji is one character); left out where the tokenizer "
                                                "gives no offsets")
    end: int | None = Field(None, description="character offset after the token's text, half-open [start, end). A "
                                              "character whose bytes are split over several tokens is in the span of "
                                              "each of them, so neighbouring spans overlap by it")
    special: bool = Field(description="a special token of the vocabulary (<|endoftext|>, <unk>, [CLS], ...)")
    unknown: bool = Field(description="the unknown token: this part of the text is not in the vocabulary")


class TokenizeOut(BaseModel):
    model: str
    tokenizer: TokenizerOut
    tokens: list[TokenOut] = Field(description="the text's tokens in order, exactly the tokenizer's own encoding "
                                               "of the text (no start or end token added)")
    input_ids: list[int] = Field(description="the ids the model reads for this text: the tokens with the start "
                                             "(and end) tokens the model adds, as every other route encodes it")
    n_ctx: int = Field(description="how many tokens the model reads at most; other routes refuse a longer input")


MAX_TOKEN_IDS = 1000  # ids per GET /api/v1/models/{id}/tokens


class VocabToken(BaseModel):
    id: int
    token: str = Field(description="the token's display string (as in every other answer)")


class TokensOut(BaseModel):
    model: str
    tokens: list[VocabToken] = Field(description="one per id asked for, in the order asked")
