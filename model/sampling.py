"""Turning logits into a next-token choice: temperature, top-k, top-p (nucleus), and seeded sampling.

The filters are Hugging Face `transformers`' warpers (TemperatureLogitsWarper, TopKLogitsWarper,
TopPLogitsWarper with min_tokens_to_keep=1), applied in the order `generate` applies them, with the same tensor
operations, so the distribution is the one `transformers` samples from for the same logits and parameters
(tests/model/test_sampling_hf.py checks it against the warpers themselves, ties included):
  1. temperature: scores = logits / temperature
  2. top-k: drop every token whose score is below the k-th highest score; every token TIED with the k-th
     stays, so more than k tokens can survive
  3. top-p: sort the surviving scores ascending, take the cumulative softmax, drop the tokens whose cumulative
     mass is <= 1 - top_p (the most probable token always stays); ties inside that cut are ordered by
     torch.sort, as in `transformers`
  4. probs = softmax of what is left
`top_k` omitted is `transformers`' top_k=0 (no top-k; note `generate`'s own default is 50), `top_p` omitted or 1
skips top-p. One difference, in rounding only: the logits are shifted by their maximum before the division
(softmax does not change; a tiny temperature then gives 0 and -inf instead of overflowing to inf). The page's
JavaScript (static/js/filtering.js) mirrors this.
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
    """The distribution over the next token after temperature, top-k and top-p (see the module docstring), in
    float64, with the mass each filter removed and the entropy of the result."""
    check_params(temperature, top_k, top_p)
    logits = logits.double()
    scores = (logits - logits.max()) / temperature
    base = scores.softmax(-1)  # the distribution at this temperature, before the filters
    after_k = torch.ones_like(scores, dtype=torch.bool)
    if top_k is not None and top_k < scores.numel():
        after_k = scores >= torch.topk(scores, top_k).values[-1]  # the k-th score and every score tied with it
        scores = scores.masked_fill(~after_k, -math.inf)
    after_p = after_k
    if top_p is not None and top_p < 1:
        sorted_scores, sorted_ids = torch.sort(scores, descending=False)
        drop = sorted_scores.softmax(-1).cumsum(-1) <= 1 - top_p
        drop[-1] = False  # min_tokens_to_keep = 1: the most probable token stays
        after_p = after_k & ~drop.scatter(0, sorted_ids, drop)
        scores = scores.masked_fill(~after_p, -math.inf)
    probs = scores.softmax(-1)
    cut_k = float(base[~after_k].sum())
    cut_p = float(base[after_k & ~after_p].sum())
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
    """The `n` most probable tokens that survived the filters (tokens a filter removed are never candidates), ties
    by the lower id. Only the tokens at least as probable as the n-th are sorted (a 50,257-token vocabulary would
    cost a full sort, ~10 ms, per answer)."""
    probs = filtered.probs
    kth = torch.topk(probs, min(n, probs.numel())).values[-1]
    ids = torch.nonzero((probs >= kth) & (probs > 0)).flatten()  # ascending ids: a stable sort keeps ties by id
    order = ids[torch.sort(probs[ids], descending=True, stable=True).indices[:n]]
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
        seq = loaded.encode_target("")  # the decoder's start token: <bos>, or Marian's <pad>
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
