"""How much of the variants table is the seed? Retrain tiny-gpt and its variants with other seeds (corpus, initial
weights and batch order all change) and put the spread next to the shipped seed-0 results.

    OMP_NUM_THREADS=1 python -m bench.variant_seeds --seeds 1 2 --workers 2 --write docs/variants.md

Checkpoints go to a temporary folder (nothing shipped changes); the table goes between the seeds markers of
the doc. About 14 minutes with 2 workers on the 2-core development machine.
"""
from __future__ import annotations

import argparse
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from model import doc_block, train, variants, zoo

BLOCK = "seeds-table"  # the generated block of docs/variants.md (model/doc_block.py)


def run_one(job: tuple[str, int, str]) -> tuple[str, int, dict]:
    model_id, seed, out = job
    loaded = train.train(model_id, Path(out) / f"seed{seed}", progress=False, seed=seed)
    return model_id, seed, variants.row(dict(loaded.meta))


def step(v) -> str:
    return "never" if v is None else str(v)


def markdown(results: dict[tuple[str, int], dict], models: list[str], seeds: list[int]) -> str:
    lines = ["| model | seed | final train loss | held-out agreement | held-out pronoun | agreement ≥ 0.95 first at | "
             "pronoun ≥ 0.95 first at |", "|---|---:|---:|---:|---:|---:|---:|"]
    for mid in models:
        for seed in seeds:
            r = results[(mid, seed)]
            lines.append(f"| `{mid}` | {seed} | {r['final_loss']:.4f} | {r['agreement']:.3f} | {r['pronoun']:.3f} | "
                         f"{step(r['first_agreement'])} | {step(r['first_pronoun'])} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--models", nargs="+", default=variants.VARIANTS)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--write", type=Path, help="replace the table between the seeds markers in this file")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as out:
        jobs = [(m, s, out) for s in args.seeds for m in args.models]
        with ProcessPoolExecutor(args.workers) as pool:
            results = {(m, s): r for m, s, r in pool.map(run_one, jobs)}
    shipped = {(m, 0): variants.row(variants.read_meta(m, zoo.CHECKPOINT_DIR)) for m in args.models}
    table = markdown({**shipped, **results}, args.models, [0, *args.seeds])
    print(table)
    if args.write:
        doc_block.write(args.write, BLOCK, table)


if __name__ == "__main__":
    main()
