"""Turning a request into model inputs: check and tokenize the text (and the target of an encoder-decoder).
Every refusal is an ApiError with a message that says what to change. (The model itself is looked up by the
BodyModel / PathModel dependencies, app/deps.py.)"""
from __future__ import annotations

import torch

from model.zoo import LoadedModel

from .errors import ApiError


def _check_len(loaded: LoadedModel, ids: list[int], what: str) -> None:
    if len(ids) > loaded.cfg.n_ctx:
        raise ApiError(422, "text_too_long",
                       f"the {what} is {len(ids)} tokens long (special tokens included); {loaded.id} reads at most "
                       f"n_ctx = {loaded.cfg.n_ctx} tokens. Shorten it")


def source_ids(loaded: LoadedModel, text: str) -> torch.Tensor:
    """Decoder-only: <bos> + words. Encoder-decoder: the source words + <eos>."""
    if not text or not text.strip() or not loaded.tokenizer.split(text):
        raise ApiError(422, "empty_text", "the text is empty; type a few words, e.g. \"the cat\"")
    ids = loaded.encode(text)
    _check_len(loaded, ids, "text")
    return torch.tensor(ids)


def target_ids(loaded: LoadedModel, target: str | None) -> torch.Tensor | None:
    """Encoder-decoder: <bos> + the target words so far (empty target = just <bos>). Decoder-only: None, and a
    target is refused so that it is never silently ignored."""
    if not loaded.is_encoder_decoder:
        if target:
            raise ApiError(422, "target_not_supported",
                           f"{loaded.id} is decoder-only: put everything in 'text' and leave 'target' out")
        return None
    ids = loaded.encode_target(target or "")
    _check_len(loaded, ids, "target")
    return torch.tensor(ids)


def require_next_token(loaded: LoadedModel) -> None:
    """Next-token prediction and generation need a decoder; an encoder-only model (BERT) predicts the token at
    each position instead, masked ones included."""
    if loaded.cfg.arch == "encoder":
        raise ApiError(422, "encoder_only",
                       f"{loaded.id} is encoder-only (masked-LM): it predicts the token at each position, not the "
                       f"next one; trace a text with {loaded.tokenizer.decode([loaded.tokenizer.mask_id])[0]!r} in it "
                       "and read hook_logits at that position" if getattr(loaded.tokenizer, "mask_id", None) is not None
                       else f"{loaded.id} is encoder-only: it predicts the token at each position, not the next one")
