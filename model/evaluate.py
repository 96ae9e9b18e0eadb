"""Held-out metrics, computed from a model's weights on test items that never occur in its training corpus.

- `agreement`: on "the dog that the cats chase ___" (a noun of the other number in between), the share of items
  where the model puts more probability on verbs of the right number than on verbs of the wrong number.
- `pronoun`: on "the girl dropped the cup . it ___", the share where the words the named object can do get
  more probability than the words of every other object.
- `exact_match` (translator): greedy translations equal to the reference, word for word.
"""
from __future__ import annotations

import torch

from . import data
from .zoo import LoadedModel

ENGLISH_TEST_SEED = 12345
TRANSLATION_TEST_SEED = 54321


@torch.inference_mode()
def next_token_probs(loaded: LoadedModel, prefixes: list[list[str]], batch: int = 256) -> torch.Tensor:
    """[n, vocab] next-word distributions after each prefix (decoder-only, <bos> first)."""
    tok, out = loaded.tokenizer, []
    for i in range(0, len(prefixes), batch):
        ids = [tok.encode(" ".join(p), bos=True) for p in prefixes[i:i + batch]]
        length = max(map(len, ids))
        x = torch.tensor([s + [tok.pad_id] * (length - len(s)) for s in ids])
        logits = loaded.model(x)
        last = torch.tensor([len(s) - 1 for s in ids])
        out.append(logits[torch.arange(len(ids)), last].softmax(-1))
    return torch.cat(out)


def probe_accuracy(loaded: LoadedModel, probes: list[data.Probe]) -> dict[str, float]:
    """Accuracy per probe kind (right-word mass > wrong-word mass)."""
    probs = next_token_probs(loaded, [p.prefix for p in probes])
    index = loaded.tokenizer.index
    hits: dict[str, list[bool]] = {}
    for p, row in zip(probes, probs):
        right = row[[index[w] for w in p.right]].sum()
        wrong = row[[index[w] for w in p.wrong]].sum()
        hits.setdefault(p.kind, []).append(bool(right > wrong))
    return {k: sum(v) / len(v) for k, v in sorted(hits.items())}


@torch.inference_mode()
def greedy_translate(loaded: LoadedModel, sources: list[str], max_len: int = 40, batch: int = 256) -> list[str]:
    """Greedy decoding, a batch at a time; returns the translations as text (without <bos>/<eos>)."""
    tok, model, out = loaded.tokenizer, loaded.model, []
    for i in range(0, len(sources), batch):
        ids = [loaded.encode(s) for s in sources[i:i + batch]]
        length = max(map(len, ids))
        src = torch.tensor([s + [tok.pad_id] * (length - len(s)) for s in ids])
        memory = model.encode(src)
        tgt = torch.full((len(ids), 1), tok.bos_id)
        done = torch.zeros(len(ids), dtype=torch.bool)
        for _ in range(max_len):
            nxt = model.decode(memory, src, tgt)[:, -1].argmax(-1)
            nxt = torch.where(done, torch.full_like(nxt, tok.pad_id), nxt)
            tgt = torch.cat([tgt, nxt[:, None]], dim=1)
            done |= nxt == tok.eos_id
            if done.all():
                break
        for row in tgt.tolist():
            words = []
            for t in row[1:]:
                if t in (tok.eos_id, tok.pad_id):
                    break
                words.append(tok.vocab[t])
            out.append(" ".join(words))
    return out


def translation_exact_match(loaded: LoadedModel, pairs) -> float:
    got = greedy_translate(loaded, [" ".join(en) for en, _ in pairs])
    return sum(g == " ".join(fr) for g, (_, fr) in zip(got, pairs)) / len(pairs)


def evaluate(loaded: LoadedModel, train_sentences: set[str], n: int = 1000) -> dict[str, float]:
    """The held-out metrics of a shipped model (items that are not training sentences)."""
    if loaded.is_encoder_decoder:
        pairs = data.translation_pairs(TRANSLATION_TEST_SEED, n, exclude=train_sentences)
        return {"exact_match": translation_exact_match(loaded, pairs), "n_test": n}
    acc = probe_accuracy(loaded, data.english_probes(ENGLISH_TEST_SEED, n, exclude=train_sentences))
    return {**acc, "n_test": n}


CURVE_ITEMS = 300  # held-out items measured along training (fewer than the final evaluation, for speed)


def curve_items(loaded: LoadedModel, train_sentences: set[str]):
    if loaded.is_encoder_decoder:
        return data.translation_pairs(TRANSLATION_TEST_SEED, CURVE_ITEMS, exclude=train_sentences)
    return data.english_probes(ENGLISH_TEST_SEED, CURVE_ITEMS, exclude=train_sentences)


def curve_metrics(loaded: LoadedModel, items) -> dict[str, float]:
    if loaded.is_encoder_decoder:
        return {"exact_match": round(translation_exact_match(loaded, items), 4)}
    return {k: round(v, 4) for k, v in probe_accuracy(loaded, items).items()}
