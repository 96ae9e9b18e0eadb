"""Forward-pass benchmark, in one run:

1. `tiny-gpt` (the shipped checkpoint) at 8 / 32 / 128 tokens: the bare forward `model(tokens)`, the full traced
   forward `run_with_cache(model, tokens)` (every activation name), and HTTP `POST /api/v1/trace` through a real
   uvicorn server (full trace, gzip; plus the one-name request the attention page makes).
2. A GPT-2-small-shaped model (12 layers, d_model 768, 12 heads, d_mlp 3072, vocab 50257, n_ctx 1024, random
   weights) at 128 / 512 / 1024 tokens, traced layer by layer the way the API serves it: one request per layer
   with `names=["blocks.{l}.*"]`, i.e. one forward pass per layer that stops after that layer (stop_early, as
   the trace route runs it), and for comparison one full forward per layer. Each length runs in a
   child process so its peak RSS is its own.

Usage: `OMP_NUM_THREADS=1 python -m bench.forward [--reps 30] [--reps-inproc 300] [--lengths-gpt2 128,512,1024] [--json out.json]`
Prints a Markdown table (pasted into docs/benchmarks.md).
"""
from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import httpx
import torch

from model import alloc, zoo
from model.config import ModelConfig
from model.tokenizer import SPECIALS, WordTokenizer
from app.schemas import MAX_TRACE_VALUES
from model.hooks import CaptureTooLarge
from model.transformer import build_model, run_with_cache

from .machine import describe, load_avg
from .server import proc_status_kb, uvicorn_server

TINY_LENGTHS = (8, 32, 128)
GPT2 = dict(vocab_size=50257, d_model=768, n_heads=12, n_layers=12, d_mlp=3072, n_ctx=1024, pos_embed="learned",
            act_fn="gelu")


def timed(fn, reps: int, warmup: int = 3) -> list[float]:
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def timed_pair(a, b, reps: int, warmup: int = 10) -> tuple[list[float], list[float]]:
    """Alternate a and b, so that a change in machine load hits both alike."""
    ta, tb = [], []
    for i in range(warmup + reps):
        for fn, out in ((a, ta), (b, tb)):
            t0 = time.perf_counter()
            fn()
            if i >= warmup:
                out.append(time.perf_counter() - t0)
    return ta, tb


def ms(xs: list[float], q: float = 0.5) -> float:
    xs = sorted(xs)
    return 1000 * xs[min(len(xs) - 1, int(q * len(xs)))]


def words_text(tok: WordTokenizer, n_tokens: int) -> str:
    """A text that the tokenizer turns into exactly `n_tokens` tokens (<bos> included): in-vocabulary words."""
    words = [w for w in tok.vocab if w not in SPECIALS and w.isalpha()]
    text = " ".join(words[i % len(words)] for i in range(n_tokens - 1))
    assert len(tok.encode(text, bos=True)) == n_tokens
    return text


def bench_tiny(reps: int) -> list[dict]:
    loaded = zoo.load(zoo.DEFAULT_MODEL)
    rows = []
    with torch.inference_mode():
        for n in TINY_LENGTHS:
            ids = torch.tensor(loaded.encode(words_text(loaded.tokenizer, n)))
            bare, traced = timed_pair(lambda: loaded.model(ids[None]), lambda: run_with_cache(loaded.model, ids), reps)
            n_values = sum(t.numel() for t in run_with_cache(loaded.model, ids)[1].values())
            rows.append(dict(tokens=n, bare_ms=ms(bare), traced_ms=ms(traced), ratio=ms(traced) / ms(bare),
                             values=n_values))
    return rows


def bench_http(reps: int) -> tuple[list[dict], int]:
    loaded = zoo.load(zoo.DEFAULT_MODEL)
    rows = []
    with uvicorn_server({"XRAY_MODELS": zoo.DEFAULT_MODEL}) as (url, pid):
        with httpx.Client(base_url=url, timeout=60, headers={"accept-encoding": "gzip"}) as client:
            for n in TINY_LENGTHS:
                text = words_text(loaded.tokenizer, n)
                for label, names, enc in (("full trace", None, "gzip"), ("full trace, no gzip", None, "identity"),
                                          ("one name (attention page)", ["blocks.0.attn.hook_pattern"], "gzip")):
                    body = {"model": zoo.DEFAULT_MODEL, "text": text, **({"names": names} if names else {})}
                    sizes = {}

                    def post():
                        r = client.post("/api/v1/trace", json=body, headers={"accept-encoding": enc})
                        assert r.status_code == 200, r.text[:200]
                        sizes["wire"], sizes["raw"] = r.num_bytes_downloaded, len(r.content)
                        sizes["enc"] = r.headers.get("content-encoding", "identity")

                    lat = timed(post, reps)
                    rows.append(dict(tokens=n, request=label, p50_ms=ms(lat), p90_ms=ms(lat, 0.9), wire_bytes=sizes["wire"],
                                     raw_bytes=sizes["raw"], encoding=sizes["enc"]))
            peak_kb = proc_status_kb(pid, "VmHWM")
    return rows, peak_kb


def gpt2_vocab() -> list[str]:
    """50,257 entries: the specials, one-character words and punctuation (so a 1,024-token text fits in the
    2,000-character limit), then synthetic words."""
    single = list("abcdefghijklmnopqrstuvwxyz.,;:!?")
    vocab = list(SPECIALS) + single
    vocab += [f"w{i}" for i in range(GPT2["vocab_size"] - len(vocab))]
    return vocab


def gpt2_text(n_tokens: int) -> str:
    """n_tokens - 1 one-character tokens without spaces between letters and punctuation: 'a.b,c;...'"""
    letters, punct = "abcdefghijklmnopqrstuvwxyz", ".,;:!?"
    return "".join(letters[i // 2 % 26] if i % 2 == 0 else punct[i // 2 % 6] for i in range(n_tokens - 1))


def gpt2_child(n: int) -> dict:
    """Run in a fresh process: bare forward, then the API's layer-by-layer trace (one forward per layer)."""
    torch.set_num_threads(1)
    torch.manual_seed(0)
    cfg = ModelConfig(**GPT2)
    tok = WordTokenizer(gpt2_vocab())
    model = build_model(cfg).eval()
    ids = torch.tensor(tok.encode(gpt2_text(n), bos=True))
    assert len(ids) == n, len(ids)
    rss_model = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with torch.inference_mode():
        model(ids[None])  # warm-up
        t0 = time.perf_counter()
        model(ids[None])
        bare = time.perf_counter() - t0
        torch.set_num_threads(2)
        model(ids[None])
        t0 = time.perf_counter()
        model(ids[None])
        bare2 = time.perf_counter() - t0
        torch.set_num_threads(1)
        per_layer, values = [], 0
        t0 = time.perf_counter()
        for layer in range(cfg.n_layers):  # what the trace route does: stop after the requested layer
            t1 = time.perf_counter()
            _, cache = run_with_cache(model, ids, names=[f"blocks.{layer}.*"], stop_early=True)
            per_layer.append(time.perf_counter() - t1)
            values = max(values, sum(t.numel() for t in cache.values()))
            del cache
        total = time.perf_counter() - t0
        # the trace route also passes max_values: a layer over the 20 M-value budget is refused (413) as soon as
        # the capture crosses it; time that for the last layer (the worst case)
        t0 = time.perf_counter()
        try:
            run_with_cache(model, ids, names=[f"blocks.{cfg.n_layers - 1}.*"], stop_early=True,
                           max_values=MAX_TRACE_VALUES)
            refused = None
        except CaptureTooLarge:
            refused = time.perf_counter() - t0
        t0 = time.perf_counter()
        for layer in range(cfg.n_layers):  # before stop_early: every layer request ran the whole model
            run_with_cache(model, ids, names=[f"blocks.{layer}.*"])  # the result is dropped at once
        total_full = time.perf_counter() - t0
    return dict(tokens=n, bare_s=bare, bare_2threads_s=bare2, layer_by_layer_s=total, layer_by_layer_full_s=total_full,
                refused_last_layer_s=refused,
                per_layer_median_s=statistics.median(per_layer),
                values_per_layer=values, peak_rss_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                model_rss_mib=rss_model / 1024, load=load_avg())


def bench_gpt2(lengths: list[int]) -> list[dict]:
    rows = []
    for n in lengths:
        out = subprocess.run([sys.executable, "-m", "bench.forward", "--gpt2-child", str(n)], capture_output=True,
                             text=True, check=True)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return rows


def report(tiny, http, peak_kb, gpt2) -> str:
    lines = []
    if tiny:
        lines += ["| tokens | bare forward (ms) | full traced forward (ms) | traced / bare | values captured |",
                  "|---:|---:|---:|---:|---:|"]
        lines += [f"| {r['tokens']} | {r['bare_ms']:.2f} | {r['traced_ms']:.2f} | {r['ratio']:.2f}x | {r['values']:,} |"
                  for r in tiny]
    if http:
        lines += ["", "| tokens | HTTP POST /api/v1/trace | p50 (ms) | p90 (ms) | bytes on the wire | JSON bytes |",
                  "|---:|---|---:|---:|---:|---:|"]
        lines += [f"| {r['tokens']} | {r['request']} | {r['p50_ms']:.1f} | {r['p90_ms']:.1f} | {r['wire_bytes']:,} "
                  f"({r['encoding']}) | {r['raw_bytes']:,} |" for r in http]
        lines += ["", f"tiny-gpt server peak RSS (VmHWM) after these requests: {peak_kb / 1024:.0f} MiB", ""]
    if gpt2:
        lines += ["| tokens | bare forward (s) | bare, 2 threads (s) | 12 layer requests, stop after the layer (s) | "
                  "per layer (median, s) | same, full forward each (s) | values per layer | API: last layer refused (413) after (s) "
                  "| peak RSS (MiB) | load |", "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
        lines += [f"| {r['tokens']} | {r['bare_s']:.2f} | {r['bare_2threads_s']:.2f} | {r['layer_by_layer_s']:.2f} | "
                  f"{r['per_layer_median_s']:.2f} | {r['layer_by_layer_full_s']:.2f} | {r['values_per_layer']:,} | "
                  f"{'served' if r['refused_last_layer_s'] is None else format(r['refused_last_layer_s'], '.2f')} | "
                  f"{r['peak_rss_mib']:.0f} | {r['load']} |" for r in gpt2]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=30)
    ap.add_argument("--reps-inproc", type=int, default=300, help="in-process forward repetitions")
    ap.add_argument("--lengths-gpt2", default="128,512,1024")
    ap.add_argument("--json", help="also write the raw results here")
    ap.add_argument("--gpt2-child", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.gpt2_child:
        print(json.dumps(gpt2_child(args.gpt2_child)))
        return
    torch.set_num_threads(1)
    alloc.tune_malloc()  # as the app does at startup
    print("machine:", describe(), flush=True)
    tiny = bench_tiny(args.reps_inproc)
    http, peak_kb = bench_http(args.reps)
    print(report(tiny, http, peak_kb, []), flush=True)
    gpt2 = bench_gpt2([int(x) for x in args.lengths_gpt2.split(",") if x])
    print(report([], [], peak_kb, gpt2))
    print("load average at the end:", load_avg())
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(machine=describe(), tiny=tiny, http=http, server_peak_kib=peak_kb, gpt2=gpt2), f, indent=1)


if __name__ == "__main__":
    main()
