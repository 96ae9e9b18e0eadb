"""The reference for the sampler: Hugging Face `transformers`' own warpers, chained in the order
`GenerationMixin._get_logits_processor` builds them for sampling (temperature if != 1, top-k if set and != 0,
top-p if < 1; min_tokens_to_keep = 1), applied to float64 logits."""
from __future__ import annotations

import numpy as np
import torch
from transformers.generation.logits_process import (LogitsProcessorList, TemperatureLogitsWarper,
                                                    TopKLogitsWarper, TopPLogitsWarper)


def warpers(temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None) -> LogitsProcessorList:
    chain = LogitsProcessorList()
    if temperature != 1.0:
        chain.append(TemperatureLogitsWarper(temperature))
    if top_k:
        chain.append(TopKLogitsWarper(top_k=top_k, min_tokens_to_keep=1))
    if top_p is not None and top_p < 1.0:
        chain.append(TopPLogitsWarper(top_p=top_p, min_tokens_to_keep=1))
    return chain


def _warp(logits, chain: LogitsProcessorList) -> torch.Tensor:
    scores = torch.as_tensor(np.asarray(logits, dtype=np.float64))[None]
    return chain(torch.zeros(1, 1, dtype=torch.long), scores)[0]


def hf_filter(logits, temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None) -> dict:
    """{probs, base, cut_by_top_k, cut_by_top_p, entropy} as numpy / floats: `probs` is the distribution
    `transformers` samples from; the cuts are the masses (softmax at the temperature) that top-k removes and that
    top-p removes after it."""
    base = torch.softmax(_warp(logits, warpers(temperature)), -1)
    after_k = ~torch.isneginf(_warp(logits, warpers(temperature, top_k)))
    scores = _warp(logits, warpers(temperature, top_k, top_p))
    after_p = ~torch.isneginf(scores)
    probs = torch.softmax(scores, -1)
    nz = probs[probs > 0]
    return {"probs": probs.numpy(), "base": base.numpy(), "cut_by_top_k": float(base[~after_k].sum()),
            "cut_by_top_p": float(base[after_k & ~after_p].sum()), "entropy": float(-(nz * nz.log()).sum())}
