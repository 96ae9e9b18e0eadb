"""Generic head probes: behaviours any language model's heads can have, measured on input that depends on no
grammar or corpus (random tokens repeated twice), so the same scores apply to every model and tokenizer.

On `[bos] r_1 … r_L r_1 … r_L` (L random ordinary tokens, then the same tokens again), for a query at position q:
- previous-token: attention to q−1 (queries 1 … 2L)
- first-token: attention to position 0, the <bos>/end-of-text "sink" (queries 1 … 2L)
- duplicate-token: in the second copy, attention to the earlier occurrence of the same token (q − L)
- induction: in the second copy, attention to the token AFTER the earlier occurrence (q − L + 1): the head
  looks up what followed this token last time, which is what lets a model continue a repeated passage.
A score is the mean attention weight on that key (1.0 = always exactly there). For a head that attends
uniformly, query q gives 1/(q+1) to each visible key, so chance level falls with the length.
"""
from __future__ import annotations

import torch

from .transformer import run_with_cache

BEHAVIOURS = ("previous-token", "duplicate-token", "induction", "first-token")
PROBE_SEED = 4321
PROBE_LEN = 40  # L: random tokens per copy
N_SEQUENCES = 16
THRESHOLD = 0.3  # a head is labelled with a behaviour when its score reaches this


def ordinary_ids(vocab_size: int, specials: set[int]) -> list[int]:
    """Every token id that is not a special token: what random probe (and training) tokens are drawn from."""
    return [i for i in range(vocab_size) if i not in specials]


def repeated_random_tokens(vocab_size: int, bos_id: int, specials: set[int], length: int = PROBE_LEN,
                           n: int = N_SEQUENCES, seed: int = PROBE_SEED) -> torch.Tensor:
    """[n, 1 + 2·length] sequences `bos r r` of random non-special tokens, the same for every call."""
    g = torch.Generator().manual_seed(seed)
    allowed = torch.tensor(ordinary_ids(vocab_size, specials))
    r = allowed[torch.randint(len(allowed), (n, length), generator=g)]
    return torch.cat([torch.full((n, 1), bos_id), r, r], dim=1)


def scores_from_patterns(patterns: dict[str, torch.Tensor], length: int) -> dict[str, dict[str, list[float]]]:
    """{layer hook name: [batch, head, q, k] pattern} -> {behaviour: {layer name: [score per head]}}."""
    q_all = torch.arange(1, 2 * length + 1)
    q_rep = torch.arange(length + 1, 2 * length + 1)  # queries in the second copy
    out: dict[str, dict[str, list[float]]] = {b: {} for b in BEHAVIOURS}
    for name, pat in patterns.items():
        layer = name.removesuffix(".hook_pattern")
        out["previous-token"][layer] = pat[:, :, q_all, q_all - 1].mean((0, 2)).tolist()
        out["first-token"][layer] = pat[:, :, q_all, 0].mean((0, 2)).tolist()
        out["duplicate-token"][layer] = pat[:, :, q_rep, q_rep - length].mean((0, 2)).tolist()
        out["induction"][layer] = pat[:, :, q_rep, q_rep - length + 1].mean((0, 2)).tolist()
    return out


@torch.inference_mode()
def head_scores(model, vocab_size: int, bos_id: int, specials: set[int], length: int = PROBE_LEN,
                n: int = N_SEQUENCES) -> dict[str, dict[str, list[float]]]:
    """Every self-attention head's score on every behaviour: {behaviour: {"blocks.l.attn": [per head]}}."""
    length = min(length, (model.cfg.n_ctx - 1) // 2)
    tokens = repeated_random_tokens(vocab_size, bos_id, specials, length, n)
    _, cache = run_with_cache(model, tokens, names="*attn.hook_pattern")
    return scores_from_patterns(cache, length)


def best(scores: dict[str, dict[str, list[float]]], behaviour: str) -> tuple[str, int, float]:
    """(layer, head, score) of the head that scores highest on `behaviour`."""
    layer, heads = max(scores[behaviour].items(), key=lambda kv: max(kv[1]))
    h = max(range(len(heads)), key=heads.__getitem__)
    return layer, h, heads[h]
