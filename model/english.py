"""Training data and held-out measures of the real-English models (corpus: model/corpus.py).

- `tokenizer()`: the byte-level BPE trained on the training documents (deterministic), saved beside the weights.
- `streams(tok, part)`: each source's documents as one token stream, every document preceded by end-of-text.
- `sample_batch`: random windows of n_ctx + 1 tokens, sources mixed by their size. A share `p_repeat` of the
  windows gets a passage of 8-40 of its own tokens written again later in the window: a repeated passage is
  what an induction head can predict, so this brings one on (docs/english.md measures the effect).
- `repeated_random_batch` / `repeated_text_batch`: short sequences (random tokens, or a passage of the text)
  written twice, trained on beside the text windows (the recipe's `synth_batch`): the second copy is what an
  induction head predicts, and in a short sequence the head finds its key soon (docs/english.md).
- `heldout_loss`: mean next-token loss in nats per token on each source's held-out stream, in consecutive
  windows; `bigram_loss`: the same for an interpolated bigram fitted on the training stream (the baseline).
"""
from __future__ import annotations

import math
import random

import numpy as np
import torch
import torch.nn.functional as F

from . import corpus
from .tokenizer import BPETokenizer, train_bpe

VOCAB_SIZE = 4096
TOKENIZER_FILE = "english-bpe.tokenizer.json"
REPEAT_MIN, REPEAT_MAX = 8, 40
SYNTH_MIN, SYNTH_MAX = 8, 24


def tokenizer() -> BPETokenizer:
    docs = corpus.load("train")
    return train_bpe([d for source in docs.values() for d in source], VOCAB_SIZE)


def streams(tok: BPETokenizer, part: str) -> dict[str, np.ndarray]:
    """{source: int32 stream}: EOT doc EOT doc … (EOT also opens the stream, as <bos> opens a model input)."""
    out = {}
    for name, docs in corpus.load(part).items():
        ids: list[int] = []
        for enc in tok.tok.encode_batch(docs, add_special_tokens=False):
            ids.append(tok.eot_id)
            ids.extend(enc.ids)
        out[name] = np.asarray(ids, dtype=np.int32)
    return out


def _by_size(data: dict[str, np.ndarray]) -> tuple[list[str], list[int]]:
    """The sources and their sizes: `data[rng.choices(*_by_size(data))[0]]` draws a stream in proportion."""
    names = sorted(data)
    return names, [len(data[k]) for k in names]


def repeated_random_batch(rng: random.Random, n: int, ordinary: list[int], eot_id: int) -> tuple[torch.Tensor, int]:
    """`n` short sequences `end-of-text r_1 … r_L r_1 … r_L` of L random ordinary tokens (L drawn from
    SYNTH_MIN-SYNTH_MAX, the same for the batch) drawn from `ordinary` (probes.ordinary_ids): the probe's input
    (model/probes.py), short. Returns the [n, 1 + 2L] tokens and L. Only copying the first run predicts the second, so its loss is what an induction
    head lowers; short sequences make the head form sooner (the time to find the right key among T grows with T)."""
    length = rng.randint(SYNTH_MIN, SYNTH_MAX)
    rows = []
    for _ in range(n):
        run = [ordinary[rng.randrange(len(ordinary))] for _ in range(length)]
        rows.append([eot_id] + run + run)
    return torch.tensor(rows), length


def repeated_text_batch(data: dict[str, np.ndarray], rng: random.Random, n: int, eot_id: int
                        ) -> tuple[torch.Tensor, int]:
    """`n` short sequences `end-of-text p_1 … p_L p_1 … p_L`: a passage of L consecutive training tokens (L drawn
    from SYNTH_MIN-SYNTH_MAX, the same for the batch; sources weighted by size) written twice. The first copy is
    ordinary text to predict, the second is what an induction head predicts. Returns the tokens and L."""
    length = rng.randint(SYNTH_MIN, SYNTH_MAX)
    sources = _by_size(data)
    rows = []
    for _ in range(n):
        stream = data[rng.choices(*sources)[0]]
        start = rng.randrange(len(stream) - length)
        run = stream[start:start + length].tolist()
        rows.append([eot_id] + run + run)
    return torch.tensor(rows), length


def sample_batch(data: dict[str, np.ndarray], rng: random.Random, batch: int, n_ctx: int,
                 p_repeat: float) -> torch.Tensor:
    """[batch, n_ctx + 1] windows (inputs are [:, :-1], labels [:, 1:])."""
    sources = _by_size(data)
    rows = []
    for _ in range(batch):
        stream = data[rng.choices(*sources)[0]]
        start = rng.randrange(len(stream) - n_ctx - 1)
        w = stream[start:start + n_ctx + 1].copy()
        if rng.random() < p_repeat:
            s = min(rng.randint(REPEAT_MIN, REPEAT_MAX), len(w) // 2)
            i = rng.randrange(0, len(w) - 2 * s)
            j = rng.randrange(i + s, len(w) - s + 1)
            w[j:j + s] = w[i:i + s]
        rows.append(w)
    return torch.from_numpy(np.stack(rows).astype(np.int64))


def windows(stream: np.ndarray, n_ctx: int, limit: int | None = None) -> torch.Tensor:
    """Consecutive [n, n_ctx + 1] windows overlapping by one token, so every token after the first is a label
    exactly once."""
    n = (len(stream) - 1) // n_ctx
    if limit is not None:
        n = min(n, limit)
    idx = np.arange(n)[:, None] * n_ctx + np.arange(n_ctx + 1)[None]
    return torch.from_numpy(stream[idx].astype(np.int64))


@torch.inference_mode()
def heldout_loss(model, data: dict[str, np.ndarray], limit: int | None = None, batch: int = 64) -> dict[str, float]:
    """{source: mean next-token cross-entropy in nats/token} over the held-out windows (first `limit` of each)."""
    out = {}
    for name in sorted(data):
        w = windows(data[name], model.cfg.n_ctx, limit)
        total, count = 0.0, 0
        for i in range(0, len(w), batch):
            x = w[i:i + batch]
            logits = model(x[:, :-1])
            total += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), x[:, 1:].reshape(-1),
                                     reduction="sum").item()
            count += x[:, 1:].numel()
        out[name] = round(total / count, 4)
    return out


def bigram_loss(train: dict[str, np.ndarray], heldout: dict[str, np.ndarray], n_ctx: int, vocab: int,
                lambdas=(0.5, 0.6, 0.7, 0.8, 0.9, 0.95)) -> dict[str, dict]:
    """Interpolated bigram P(b|a) = λ·c(a,b)/c(a) + (1−λ)·P(b), P(b) add-one smoothed, fitted on all training
    streams, scored on the same held-out labels as `heldout_loss` (a window's first label gets the unigram). λ
    is the best of `lambdas` per source on the held-out data itself, which flatters the baseline."""
    pairs = np.zeros((vocab, vocab), dtype=np.float64)
    for s in train.values():
        np.add.at(pairs, (s[:-1], s[1:]), 1)
    uni = (np.bincount(np.concatenate(list(train.values())), minlength=vocab) + 1.0)
    uni /= uni.sum()
    row = pairs.sum(1, keepdims=True)
    cond = np.divide(pairs, row, out=np.zeros_like(pairs), where=row > 0)
    out = {}
    for name in sorted(heldout):
        w = windows(heldout[name], n_ctx).numpy()
        prev, nxt = w[:, :-1].reshape(-1), w[:, 1:].reshape(-1)
        first = np.zeros_like(prev, dtype=bool).reshape(w.shape[0], -1)
        first[:, 0] = True
        first = first.reshape(-1)
        best = None
        for lam in lambdas:
            p = np.where(first, uni[nxt], lam * cond[prev, nxt] + (1 - lam) * uni[nxt])
            loss = float(-np.log(p).mean())
            if best is None or loss < best[0]:
                best = (loss, lam)
        out[name] = {"loss": round(best[0], 4), "lambda": best[1]}
    return out


@torch.inference_mode()
def generate_samples(model, tok: BPETokenizer, prompts: list[str], n_new: int = 40, seed: int = 0,
                     temperature: float = 0.8, top_k: int = 40) -> list[str]:
    """Seeded samples (temperature 0.8, top-k 40) continuing each prompt until end-of-text, for the docs."""
    g = torch.Generator().manual_seed(seed)
    out = []
    for prompt in prompts:
        ids = tok.encode(prompt, bos=True)
        for _ in range(n_new):
            logits = model(torch.tensor([ids[-model.cfg.n_ctx:]]))[0, -1] / temperature
            kth = logits.topk(top_k).values[-1]
            logits = logits.masked_fill(logits < kth, -math.inf)
            ids.append(int(torch.multinomial(logits.softmax(-1), 1, generator=g)))
            if ids[-1] == tok.eot_id:  # the model ended the document (as the app's generation stops there)
                break
        out.append(tok.detokenize(ids))
    return out

