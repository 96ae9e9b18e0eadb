"""Traced forward of the core vs transformers' eager forward, on a GPT-2-small-shaped model.

One process, one thread count (torch.set_num_threads), the same random weights (transformers' GPT2LMHeadModel
from GPT2Config(): 12 layers, 12 heads, d_model 768, vocab 50257; nothing is downloaded) converted by
model/convert/gpt2.py. Timed, alternately so that a change in machine load hits both alike:
  ours:  run_with_cache(model, tokens) — every activation name captured (1-D input, as the API runs it)
  hf:    GPT2LMHeadModel(input_ids, output_attentions=True), attn_implementation="eager", inference_mode
The logits of the two are checked to agree before timing. malloc is tuned as the app tunes it (model/alloc.py).

Usage: `OMP_NUM_THREADS=1 python -m bench.hf [--tokens 128] [--reps 20] [--threads 1] [--profile]`
Prints the medians, the ratio, and (with --profile) the top operators of our traced forward.
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch

from model import alloc
from model.convert import gpt2
from model.convert.common import Weights
from model.transformer import build_model, after_load, run_with_cache

from .machine import describe, load_avg


def models():
    import transformers
    torch.manual_seed(0)
    cfg = transformers.GPT2Config(attn_implementation="eager")
    hf = transformers.GPT2LMHeadModel(cfg).eval()
    ours_cfg = gpt2.config(cfg)
    state = hf.state_dict()
    sd = gpt2.weights(ours_cfg, Weights(state.keys(), state.__getitem__, gpt2.PREFIXES))
    ours = build_model(ours_cfg, device="meta")
    ours.load_state_dict({k: v.contiguous() for k, v in sd.items()}, strict=True, assign=True)
    after_load(ours)
    return ours.eval(), hf


def timed_pair(a, b, reps: int, warmup: int = 3) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    """(wall, CPU) seconds of a and b, alternately. The CPU time of this thread (torch runs a 1-thread forward
    in the calling thread) is what the forward cost; the wall time also counts waiting for a shared core."""
    ta, tb = [], []
    for i in range(warmup + reps):
        for fn, out in ((a, ta), (b, tb)):
            w0, c0 = time.perf_counter(), time.thread_time()
            fn()
            if i >= warmup:
                out.append((time.perf_counter() - w0, time.thread_time() - c0))
    return ta, tb


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tokens", type=int, default=128)
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--mmap-mib", type=int, default=alloc.MMAP_THRESHOLD // 2**20,
                    help="malloc's mmap threshold (model/alloc.py; glibc caps it at 32)")
    ap.add_argument("--trim-mib", type=int, default=alloc.TRIM_THRESHOLD // 2**20,
                    help="freed heap kept before malloc returns it to the system")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    alloc.tune_malloc(args.mmap_mib * 2**20, args.trim_mib * 2**20)
    ours, hf = models()
    tokens = torch.randint(0, 50257, (args.tokens,), generator=torch.Generator().manual_seed(1))
    with torch.inference_mode():
        logits, cache = run_with_cache(ours, tokens)
        ref = hf(input_ids=tokens[None], output_attentions=True)
        diff = (logits - ref.logits[0]).abs().max().item()
        print(f"activations captured: {len(cache)} names, {sum(t.numel() for t in cache.values()):,} values; "
              f"max |logit difference| {diff:.1e}", flush=True)
        del cache
        t_ours, t_hf = timed_pair(lambda: run_with_cache(ours, tokens),
                                  lambda: hf(input_ids=tokens[None], output_attentions=True), args.reps)
        if args.profile:
            from torch.profiler import ProfilerActivity, profile
            with profile(activities=[ProfilerActivity.CPU]) as prof:
                run_with_cache(ours, tokens)
            print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=15))
    print(f"machine: {describe()}")
    print("| tokens | threads | time | ours: traced, all activations (median / min ms) | transformers eager + "
          "attentions (median / min ms) | ratio of medians | median of per-pair ratios |")
    for k, what in ((1, "CPU"), (0, "wall")):
        o, h = [t[k] * 1e3 for t in t_ours], [t[k] * 1e3 for t in t_hf]
        pair = statistics.median(a / b for a, b in zip(o, h))
        print(f"| {args.tokens} | {args.threads} | {what} | {statistics.median(o):.0f} / {min(o):.0f} | "
              f"{statistics.median(h):.0f} / {min(h):.0f} | {statistics.median(o) / statistics.median(h):.2f} | "
              f"{pair:.2f} |")
    print(f"reps {args.reps}; malloc mmap threshold {args.mmap_mib} MiB, trim threshold {args.trim_mib} MiB; "
          f"load average after: {load_avg()}")


if __name__ == "__main__":
    main()
