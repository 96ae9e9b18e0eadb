"""Turning logits into a next-token choice: temperature, top-k, top-p (nucleus), and seeded sampling.

Order of operations (the sampling page re-implements exactly this in JavaScript):
  1. p = softmax(logits / temperature)
  2. top-k: keep the k most probable tokens (ties broken by lower id), renormalise
  3. top-p: keep the smallest most-probable prefix whose mass reaches top_p (at least one token), renormalise
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch


@dataclass
class Filtered:
    probs: torch.Tensor  # [vocab] final distribution, zeros where a filter removed a token
    cut_by_top_k: float  # probability mass (at this temperature) removed by top-k
    cut_by_top_p: float  # further mass (at this temperature, before renormalising) removed by top-p
    entropy: float  # entropy of `probs`, in nats


def check_params(temperature: float, top_k: int | None, top_p: float | None) -> None:
    if not (isinstance(temperature, (int, float)) and math.isfinite(temperature) and temperature > 0):
        raise ValueError(f"temperature must be a finite number > 0, got {temperature}")
    if top_k is not None and top_k < 1:
        raise ValueError(f"top_k must be >= 1, got {top_k}")
    if top_p is not None and not (0 < top_p <= 1):
        raise ValueError(f"top_p must be in (0, 1], got {top_p}")


def filter_logits(logits: torch.Tensor, temperature: float = 1.0, top_k: int | None = None,
                  top_p: float | None = None) -> Filtered:
    check_params(temperature, top_k, top_p)
    shifted = logits.double() - logits.double().max()  # max = 0, so a tiny temperature gives 0 and -inf, never inf
    base = (shifted / temperature).softmax(-1)
    order = torch.sort(base, descending=True, stable=True).indices
    keep = torch.ones_like(base, dtype=torch.bool)
    cut_k = cut_p = 0.0
    if top_k is not None and top_k < base.numel():
        keep[order[top_k:]] = False
        cut_k = float(base[order[top_k:]].sum())
    if top_p is not None and top_p < 1:
        kept_sorted = base[order] * keep[order]
        renorm = kept_sorted / kept_sorted.sum()
        before = torch.cumsum(renorm, 0) - renorm  # mass of the strictly more probable kept tokens
        drop = (before >= top_p) & keep[order]
        drop[0] = False
        cut_p = float(base[order][drop].sum())
        keep[order[drop]] = False
    probs = torch.where(keep, base, torch.zeros_like(base))
    probs = probs / probs.sum()
    nz = probs[probs > 0]
    entropy = float(-(nz * nz.log()).sum())
    return Filtered(probs.float(), cut_k, cut_p, entropy)


def sample(probs: torch.Tensor, generator: torch.Generator) -> int:
    return int(torch.multinomial(probs, 1, generator=generator))


def make_generator(seed: int) -> torch.Generator:
    g = torch.Generator(device="cpu")
    g.manual_seed(int(seed))
    return g


@dataclass
class Step:
    token: str
    id: int
    prob: float  # probability of the chosen token in the filtered distribution
    candidates: list[dict]  # the most probable tokens after filtering: {token, id, logit, prob}


def top_candidates(logits: torch.Tensor, filtered: Filtered, vocab: list[str], n: int) -> list[dict]:
    """The `n` most probable tokens that survived the filters (tokens a filter removed are never candidates)."""
    order = torch.sort(filtered.probs, descending=True, stable=True).indices[:n]
    order = order[filtered.probs[order] > 0]
    return [{"token": vocab[i], "id": int(i), "logit": float(logits[i]), "prob": float(filtered.probs[i])}
            for i in order.tolist()]


@torch.inference_mode()
def generate(loaded, text: str, max_new_tokens: int, temperature: float = 1.0, top_k: int | None = None,
             top_p: float | None = None, seed: int = 0, n_candidates: int = 5) -> tuple[list[int], list[Step]]:
    """Sample up to `max_new_tokens` tokens after `text` (decoder-only) or as the translation of `text`
    (encoder-decoder), stopping at <eos> or at the context limit. Same seed, same output.

    Returns the generated ids and one Step per generated token."""
    check_params(temperature, top_k, top_p)
    model, tok = loaded.model, loaded.tokenizer
    gen = make_generator(seed)
    if loaded.is_encoder_decoder:
        src = torch.tensor([loaded.encode(text)])
        memory = model.encode(src)
        seq = [tok.bos_id]
        step_logits = lambda s: model.decode(memory, src, torch.tensor([s]))[0, -1]  # noqa: E731
    else:
        seq = loaded.encode(text)
        step_logits = lambda s: model(torch.tensor([s]))[0, -1]  # noqa: E731
    start, steps = len(seq), []
    while len(steps) < max_new_tokens and len(seq) < loaded.cfg.n_ctx:
        logits = step_logits(seq)
        filtered = filter_logits(logits, temperature, top_k, top_p)
        choice = sample(filtered.probs, gen)
        steps.append(Step(tok.vocab[choice], choice, float(filtered.probs[choice]),
                          top_candidates(logits, filtered, tok.vocab, n_candidates)))
        seq.append(choice)
        if choice == tok.eos_id:
            break
    return seq[start:], steps
