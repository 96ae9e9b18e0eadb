"""The measured tables of docs/english.md, read from the shipped real-English checkpoints (their json holds what
model/train.py measured on the weights as shipped): held-out loss per source against the bigram baseline, the
best head per generic probe, the removal variants, the effect of repeated passages, and seeded samples.

`python -m model.english_report --write docs/english.md` replaces the text between the markers;
tests/model/test_english.py checks that the shipped doc matches the shipped jsons, and recomputes the jsons'
numbers from the weights.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from . import doc_block, english, probes, timeline, zoo

MAIN = "english-gpt"
SHORT = ["english-gpt-short", "english-gpt-short-no-ln", "english-gpt-short-no-residual",
         "english-gpt-short-no-ffn", "english-gpt-short-no-pos", "english-gpt-short-post-ln",
         "english-gpt-short-no-repeats"]
REMOVED = {"english-gpt-short": "nothing (reference: pre-LN)", "english-gpt-short-no-ln": "every layer norm",
           "english-gpt-short-no-residual": "residual connections",
           "english-gpt-short-no-ffn": "feed-forward sublayers", "english-gpt-short-no-pos": "positional embeddings",
           "english-gpt-short-post-ln": "pre-LN → post-LN",
           "english-gpt-short-no-repeats": "repeated passages in the training data"}
PROMPTS = ["It was a truth", "She walked into the garden and", "The children were playing", "My sister bought"]
BLOCK = "english-report"  # the generated block of docs/english.md (model/doc_block.py)


def _meta(model_id: str, directory: Path = zoo.CHECKPOINT_DIR) -> dict:
    return json.loads((directory / f"{model_id}.json").read_text())


def head_scores(loaded: zoo.LoadedModel) -> dict:
    tok = loaded.tokenizer
    return probes.head_scores(loaded.model, len(tok), tok.bos_id, tok.specials)


def samples(directory: Path = zoo.CHECKPOINT_DIR) -> list[str]:
    loaded = zoo.load(MAIN, directory)
    torch.set_num_threads(1)
    return english.generate_samples(loaded.model, loaded.tokenizer, PROMPTS, n_new=40, seed=0)


def markdown(directory: Path = zoo.CHECKPOINT_DIR, with_samples: bool = True) -> str:
    m = _meta(MAIN, directory)
    met, tr = m["metrics"], m["training"]
    lines = [f"### `{MAIN}`: held-out loss (nats per token)", "",
             "| source | model | interpolated bigram (best λ) | difference |", "|---|---|---|---|"]
    for src, loss in met["heldout_loss"].items():
        b = met["bigram_loss"][src]
        lines.append(f"| {src} | {loss:.3f} | {b['loss']:.3f} (λ {b['lambda']}) | {loss - b['loss']:+.3f} |")
    made_of = {"random": "random sequences", "text": "text passages"}[tr.get("synth_source", "random")]
    synth = (f", and {tr['synth_batch']} short {made_of} written twice (weight {tr.get('synth_weight', 1.0)}, "
             f"model/english.py)" if tr.get("synth_batch") else "")
    lines += ["", f"{tr['steps']:,} steps of {tr['batch']} windows × 128 tokens{synth}, {tr['threads']} thread, "
              f"{tr['seconds'] / 60:.0f} minutes; {tr['p_repeat']:.0%} of the windows hold a repeated passage.", "",
              "### Heads (generic probes, model/probes.py)", "", "| behaviour | best head | score |", "|---|---|---|"]
    scores = head_scores(zoo.load(MAIN, directory))
    for b in probes.BEHAVIOURS:
        layer, head, score = probes.best(scores, b)
        lines.append(f"| {b} | {layer} head {head} | {score:.3f} |")
    snaps = set(timeline.list_steps(timeline.timeline_dir(directory, MAIN)))
    curve = [(s, c) for s, c in tr["metrics_curve"] if s in snaps] or tr["metrics_curve"][::5]
    lines += ["", "Best head per behaviour along training, at the snapshots the /attention step slider shows:", "",
              "| step | " + " | ".join(f"{s:,}" for s, _ in curve) + " |", "|---" * (len(curve) + 1) + "|"]
    lines += [f"| {b} | " + " | ".join(f"{c[b]:.2f}" for _, c in curve) + " |" for b in probes.BEHAVIOURS]
    short = _meta(SHORT[0], directory)["training"]["steps"] if (directory / f"{SHORT[0]}.json").exists() else 0
    lines += ["", f"### What breaks if you remove it ({short:,} steps each, same data, seed and batches)", "",
              "| model | removed | held-out austen | held-out wordnet | best induction | best previous-token |",
              "|---|---|---|---|---|---|"]
    for mid in SHORT:
        if not (directory / f"{mid}.json").exists():
            continue
        v = _meta(mid, directory)["metrics"]
        lines.append(f"| `{mid}` | {REMOVED[mid]} | {v['heldout_loss']['austen']:.3f} | "
                     f"{v['heldout_loss']['wordnet']:.3f} | {v['head_probes']['induction']:.3f} | "
                     f"{v['head_probes']['previous-token']:.3f} |")
    if with_samples:
        lines += ["", "### Samples (temperature 0.8, top-k 40, seed 0, until the model ends the text or 40 tokens; "
                  "the prompt is the start of each)", ""]
        lines += [f"> {s!r}" for s in samples(directory)]
    return "\n".join(lines)


def write(path: Path) -> None:
    doc_block.write(path, BLOCK, markdown())


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="The measured tables of docs/english.md")
    ap.add_argument("--write", type=Path, help="replace the text between the markers in this file")
    args = ap.parse_args(argv)
    if args.write:
        write(args.write)
    else:
        print(markdown())


if __name__ == "__main__":
    main()
