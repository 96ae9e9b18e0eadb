"""The "what breaks if you remove it" table: one row per tiny-gpt variant, read from the training record each
checkpoint json carries (model/train.py writes it): final training loss, held-out agreement / pronoun, and the
first evaluation step at which each metric reached the threshold.

`python -m model.variants` prints the table; `--write docs/variants.md` replaces the table between the
markers in that file (tests/model/test_variants.py checks the shipped doc still matches the shipped jsons).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from . import data, doc_block, evaluate, zoo

VARIANTS = ["tiny-gpt", "tiny-gpt-no-ln", "tiny-gpt-no-residual", "tiny-gpt-no-ffn", "tiny-gpt-no-pos",
            "tiny-gpt-post-ln", "tiny-gpt-deep", "tiny-gpt-deep-post-ln", "tiny-gpt-deep-post-ln-warmup"]
REMOVED = {"tiny-gpt": "nothing (reference: pre-LN)", "tiny-gpt-no-ln": "every layer norm",
           "tiny-gpt-no-residual": "residual connections", "tiny-gpt-no-ffn": "feed-forward sublayers",
           "tiny-gpt-no-pos": "positional encoding", "tiny-gpt-post-ln": "pre-LN → post-LN",
           "tiny-gpt-deep": "6 layers, no warm-up (pre-LN)", "tiny-gpt-deep-post-ln": "6 layers, no warm-up, post-LN",
           "tiny-gpt-deep-post-ln-warmup": "6 layers, post-LN, 100 warm-up steps"}
METRICS = ("agreement", "pronoun")
THRESHOLD = 0.95
BLOCK = "variants-table"  # the generated block of docs/variants.md (model/doc_block.py)


def first_reaching(curve: list, metric: str, threshold: float = THRESHOLD) -> int | None:
    """First step of the metrics curve [[step, {metric: value}], ...] at which `metric` >= threshold."""
    return next((step for step, m in curve if m.get(metric, -1) >= threshold), None)


def stays_from(curve: list, metric: str, threshold: float = THRESHOLD) -> int | None:
    """First step from which every later measurement stays >= threshold (None if the last one is below)."""
    out = None
    for step, m in curve:
        if m.get(metric, -1) >= threshold:
            out = step if out is None else out
        else:
            out = None
    return out


def row(meta: dict) -> dict:
    t = meta["training"]
    curve = t.get("metrics_curve", [])
    out = {"final_loss": t["losses"][-1][1], "steps": t["steps"], "seconds": t.get("seconds"),
           "n_test": meta["metrics"].get("n_test")}
    for m in METRICS:
        out[m] = meta["metrics"][m]
        out[f"first_{m}"] = first_reaching(curve, m)
        out[f"stays_{m}"] = stays_from(curve, m)
    return out


def read_meta(model_id: str, directory: Path = zoo.CHECKPOINT_DIR) -> dict:
    _, meta_path = zoo.checkpoint_paths(model_id, directory)
    return json.loads(meta_path.read_text())


def agreement_choices(loaded: zoo.LoadedModel, train_sentences: set[str], n: int = 1000) -> dict[str, float]:
    """On the held-out agreement items (every one has a noun of the other number between subject and verb): how
    often the model prefers plural verbs, split by the subject's number. A model that tracks the subject gives
    1 and 0; one blind to it gives about the same rate for both."""
    probes = [p for p in data.english_probes(evaluate.ENGLISH_TEST_SEED, n, exclude=train_sentences)
              if p.kind == "agreement"]
    probs = evaluate.next_token_probs(loaded, [p.prefix for p in probes])
    idx = loaded.tokenizer.index
    plural = probs[:, [idx[w] for w in data.PLURAL_VERBS]].sum(1) > probs[:, [idx[w] for w in data.SINGULAR_VERBS]].sum(1)
    subject_plural = torch.tensor([p.right == data.PLURAL_VERBS for p in probes])
    return {"plural_if_plural_subject": float(plural[subject_plural].float().mean()),
            "plural_if_singular_subject": float(plural[~subject_plural].float().mean()),
            "n_items": len(probes)}


def markdown(directory: Path = zoo.CHECKPOINT_DIR) -> str:
    def step(v):
        return "never" if v is None else str(v)
    lines = ["| model | differs from tiny-gpt by | final train loss | held-out agreement | held-out pronoun | "
             f"agreement ≥ {THRESHOLD} first at (stays from) | pronoun ≥ {THRESHOLD} first at (stays from) |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for mid in VARIANTS:
        r = row(read_meta(mid, directory))
        lines.append(f"| `{mid}` | {REMOVED[mid]} | {r['final_loss']:.4f} | {r['agreement']:.3f} | {r['pronoun']:.3f} | "
                     f"{step(r['first_agreement'])} ({step(r['stays_agreement'])}) | "
                     f"{step(r['first_pronoun'])} ({step(r['stays_pronoun'])}) |")
    from .train import RECIPES, build_corpus  # the training sentences, to keep the test items held out
    _, train_sentences = build_corpus(RECIPES["tiny-gpt"])
    lines += ["", "Which verb number each model prefers on the held-out agreement items (recomputed from the weights):",
              "", "| model | parameters | P(plural verb preferred \\| plural subject) | "
              "P(plural verb preferred \\| singular subject) | items |", "|---|---:|---:|---:|---:|"]
    for mid in VARIANTS:
        loaded = zoo.load(mid, directory)
        c = agreement_choices(loaded, train_sentences)
        lines.append(f"| `{mid}` | {sum(p.numel() for p in loaded.model.parameters()):,} | "
                     f"{c['plural_if_plural_subject']:.3f} | {c['plural_if_singular_subject']:.3f} | {c['n_items']} |")
    return "\n".join(lines)


def write(doc: Path, directory: Path = zoo.CHECKPOINT_DIR) -> None:
    doc_block.write(doc, BLOCK, markdown(directory))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="The variants table from the shipped checkpoint jsons.")
    ap.add_argument("--write", type=Path, help="replace the table between the markers in this markdown file")
    args = ap.parse_args(argv)
    if args.write:
        write(args.write)
    else:
        print(markdown())


if __name__ == "__main__":
    main()
