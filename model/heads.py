"""Head labels: score every attention head for known behaviours from the model's own attention patterns. A score
is the mean attention weight a head puts where the behaviour says it should look (1.0 = always exactly there;
chance is about 1 / number of visible keys).

Every decoder-only (and encoder-only) model gets the generic probes of model/probes.py, which depend on no
grammar or tokenizer: previous-token, duplicate-token, induction and first-token, on random tokens repeated twice.
The course's word-level models also get two behaviours of their synthetic grammar:
- subject-verb: on "the dog that the cats chase ___", the last word -> the subject noun ("dog")
- pronoun-antecedent: on "the girl dropped the cup . it ___", "it" -> the noun it stands for ("cup")
The translator's heads are scored on its own sentence pairs: previous-token, self and first-token on both
self-attentions, and alignment on cross-attention (decoder position i -> the source word translated next).
"""
from __future__ import annotations

import torch

from . import data, probes
from .tokenizer import WordTokenizer
from .transformer import run_with_cache
from .zoo import LoadedModel

PROBE_SEED = 777
N_PROBES = 120
THRESHOLD = probes.THRESHOLD  # a head gets a label when its score reaches this


def _pattern(loaded: LoadedModel, words: list[str], target: list[str] | None = None) -> dict[str, torch.Tensor]:
    tokens = torch.tensor(loaded.encode(" ".join(words)))
    tgt = torch.tensor(loaded.encode_target(" ".join(target))) if target is not None else None
    _, cache = run_with_cache(loaded.model, tokens, tgt, names="*hook_pattern")
    return cache


def _positional_scores(pat: torch.Tensor) -> dict[str, torch.Tensor]:
    """[head, q, k] -> per-head previous-token / self / first-token scores (queries from 1 on)."""
    q = torch.arange(1, pat.shape[1])
    return {"previous-token": pat[:, q, q - 1].mean(-1), "self": pat[:, q, q].mean(-1),
            "first-token": pat[:, q, 0].mean(-1)}


def _add(total: dict, name: str, scores: dict[str, torch.Tensor]) -> None:
    slot = total.setdefault(name, {})
    for k, v in scores.items():
        slot.setdefault(k, []).append(v)


def _has_synthetic_grammar(loaded: LoadedModel) -> bool:
    tok = loaded.tokenizer
    return isinstance(tok, WordTokenizer) and all(w in tok.index for w in data.english_vocab())


def _generic_scores(loaded: LoadedModel) -> dict[str, dict[str, list[torch.Tensor]]]:
    tok = loaded.tokenizer
    bos = tok.bos_id if tok.bos_id is not None else (tok.eos_id if tok.eos_id is not None else 0)
    specials = set(getattr(tok, "specials", ())) | {i for i in (tok.pad_id, tok.bos_id, tok.eos_id, tok.unk_id)
                                                    if i is not None}
    scores = probes.head_scores(loaded.model, len(tok), bos, specials)
    total: dict = {}
    for behaviour, layers in scores.items():
        for layer, per_head in layers.items():
            _add(total, f"{layer}.hook_pattern", {behaviour: torch.tensor(per_head)})
    return total


def _decoder_scores(loaded: LoadedModel) -> dict[str, dict[str, list[torch.Tensor]]]:
    total = _generic_scores(loaded)
    if not _has_synthetic_grammar(loaded):
        return total
    for p in data.english_probes(PROBE_SEED, N_PROBES):
        cache = _pattern(loaded, p.prefix)
        if p.kind == "agreement":
            key, behaviour = 2, "subject-verb"  # <bos> the [dog] ...
        else:
            objects = [i for i, w in enumerate(p.prefix) if w in data.OBJECTS]
            key, behaviour = objects[-1] + 1, "pronoun-antecedent"  # +1 for <bos>
        for name, pat in cache.items():
            _add(total, name, {behaviour: pat[:, -1, key]})
    return total


def _alignment(en: list[str], fr: list[str]) -> list[int | None]:
    """For each French word, the index of the English word it translates (None for articles and "et")."""
    back = {f: e for e, (fs, fp, _) in data.FR_NOUNS.items() for f in (fs,)}
    back.update({fp: data.EN_PLURAL[e] for e, (fs, fp, _) in data.FR_NOUNS.items()})
    back.update({f: e for e, f in data.FR_ADJ.items()})
    for (es, ep), (fs, fp) in data.FR_VERBS.items():
        back.update({fs: es, fp: ep})
    out = []
    for w in fr:
        e = back.get(w)
        out.append(en.index(e) if e is not None and en.count(e) == 1 else None)
    return out


def _translator_scores(loaded: LoadedModel) -> dict[str, dict[str, list[torch.Tensor]]]:
    total = {}
    for en, fr in data.translation_pairs(PROBE_SEED, N_PROBES // 2):
        cache = _pattern(loaded, en, fr)
        align = _alignment(en, fr)
        for name, pat in cache.items():
            if ".cross_attn." in name:
                # decoder input i is <bos>, fr[0], ...: at position i the model writes fr[i]
                pairs = [(i, a) for i, a in enumerate(align) if a is not None]
                qi = torch.tensor([i for i, _ in pairs])
                ki = torch.tensor([a for _, a in pairs])
                _add(total, name, {"alignment": pat[:, qi, ki].mean(-1)})
            else:
                _add(total, name, _positional_scores(pat))
    return total


def score_heads(loaded: LoadedModel) -> list[dict]:
    """[{name: "blocks.0.attn", layer, head, scores: {behaviour: score}, labels: [behaviour, ...]}] for every head,
    labels sorted by score, highest first."""
    with torch.inference_mode():
        total = _translator_scores(loaded) if loaded.is_encoder_decoder else _decoder_scores(loaded)
    out = []
    for name, behaviours in total.items():
        attn = name.removesuffix(".hook_pattern")
        layer = int(attn.split(".")[1])
        means = {b: torch.stack(v).mean(0) for b, v in behaviours.items()}
        for h in range(loaded.cfg.n_heads):
            scores = {b: round(float(m[h]), 4) for b, m in means.items()}
            labels = sorted((b for b, s in scores.items() if s >= THRESHOLD), key=lambda b: -scores[b])
            out.append({"name": attn, "layer": layer, "head": h, "scores": scores, "labels": labels})
    return sorted(out, key=lambda d: (d["name"], d["head"]))
