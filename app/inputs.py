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


def mask_token(loaded: LoadedModel) -> str | None:
    """The display string of the model's mask token ("[MASK]"), or None when its tokenizer has none."""
    mask_id = getattr(loaded.tokenizer, "mask_id", None)
    return None if mask_id is None else loaded.tokenizer.decode([mask_id])[0]


def require_next_token(loaded: LoadedModel) -> None:
    """Next-token prediction and generation need a decoder; an encoder-only model (BERT) predicts the token under
    a mask instead (POST /api/v1/masked-token)."""
    if loaded.cfg.arch == "encoder":
        mask = mask_token(loaded)
        how = (f"write {mask} where a token should be predicted and POST /api/v1/masked-token" if mask is not None
               else "trace a text and read hook_logits at the position you want")
        raise ApiError(422, "encoder_only",
                       f"{loaded.id} is encoder-only (masked-LM): it reads the whole text at once and predicts the "
                       f"token at a position, not the next one; {how}")


def require_masked_lm(loaded: LoadedModel) -> str:
    """Masked-token prediction needs an encoder-only model whose tokenizer has a mask token; returns that token's
    display string ("[MASK]")."""
    if loaded.cfg.arch != "encoder":
        kind = "encoder-decoder (a translator)" if loaded.is_encoder_decoder else "decoder-only"
        raise ApiError(422, "not_masked_lm",
                       f"{loaded.id} is {kind}: it predicts the next token (POST /api/v1/next-token). Masked-token "
                       "prediction needs an encoder-only model with a masked-LM head (BERT)")
    mask = mask_token(loaded)
    if mask is None:
        raise ApiError(422, "not_masked_lm", f"{loaded.id}'s tokenizer has no mask token, so no text can hide a token "
                                             "from it; trace the text and read hook_logits instead")
    return mask


def masked_position(loaded: LoadedModel, mask: str, ids: list[int], position: int | None) -> tuple[int, list[int]]:
    """(the position to predict, every mask position): the text must hold the mask token `mask` (what
    `require_masked_lm` returned), and `position` (default: the first mask) must be one."""
    masks = [i for i, t in enumerate(ids) if t == loaded.tokenizer.mask_id]
    if not masks:
        raise ApiError(422, "no_mask", f"the text has no {mask} token; write {mask} (exactly so) where {loaded.id} "
                                       f"should predict the hidden token, e.g. \"The children walked to the {mask} "
                                       "after school.\"")
    if position is None:
        return masks[0], masks
    if position >= len(ids):
        raise ApiError(422, "invalid_position",
                       f"position {position} is past the end of the text's {len(ids)} tokens (0 to {len(ids) - 1}; "
                       f"{loaded.tokenizer.decode(ids[:1])[0]} is 0); the {mask} tokens are at "
                       f"{', '.join(map(str, masks))}")
    if position not in masks:
        shown = loaded.tokenizer.decode([ids[position]])[0]
        raise ApiError(422, "invalid_position",
                       f"position {position} is the token {shown!r}, not {mask}; the {mask} tokens are at "
                       f"{', '.join(map(str, masks))} (or replace that token by {mask} in the text)")
    return position, masks
