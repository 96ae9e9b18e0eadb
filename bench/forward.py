"""Forward-pass benchmark, in one run:

1. `tiny-gpt` (the shipped checkpoint) at 8 / 32 / 128 tokens: the bare forward `model(tokens)`, the full traced
   forward `run_with_cache(model, tokens)` (every activation name), and HTTP `POST /api/v1/trace` through a real
   uvicorn server (full trace, gzip; plus the one-name request the attention page makes).
2. A GPT-2-small-shaped model (12 layers, d_model 768, 12 heads, d_mlp 3072, vocab 50257, n_ctx 1024, random
   weights) at 128 / 512 / 1024 tokens, traced layer by layer in order 0..11: one request per layer with
   `names=["blocks.{l}.*"]` run as the trace route runs it (stop_early, resumed from the residual stream cached
   by the earlier requests, app/resid_cache.py), and for comparison without the cache (each request re-runs
   blocks 0..l); then through the app, one request per layer for head 0's pattern (`heads=[0]`), and the time
   for a whole layer to be refused (413 from the shapes). Each length runs in a child process so its peak RSS
   is its own.

Usage: `OMP_NUM_THREADS=1 python -m bench.forward [--reps 30] [--reps-inproc 300] [--lengths-gpt2 128,512,1024]
[--only-gpt2] [--json out.json]`
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
from app.resid_cache import ResidCache, resume_args
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


def layer_by_layer(model, ids, n_layers: int, resume: bool) -> list[float]:
    """Seconds per request of `names=["blocks.{l}.*"]` for l = 0..n_layers-1, run as the trace route runs it
    (stop_early; with `resume`, from the residual stream cached by the earlier requests, app/resid_cache.py),
    without the payload budget (a whole layer is over it at 512 tokens and more) and without serialisation."""
    cache = ResidCache()
    times = []
    for layer in range(n_layers):
        t0 = time.perf_counter()
        names = [f"blocks.{layer}.*"]
        extra = resume_args(cache, zoo.LoadedModel("gpt2-shape", model, None), ids, names) if resume else {}
        _, acts = run_with_cache(model, ids, names=names, stop_early=True, **extra)
        times.append(time.perf_counter() - t0)
        del acts
    return times


def api_layer_by_layer(model, tok, text: str, n_layers: int) -> tuple[list[float], int, float]:
    """Through the app (in-process ASGI client: validation, budget, resume, rounding, orjson, gzip), one request
    per layer for head 0's attention pattern, in order 0..n_layers-1. Returns the seconds per request, the
    response bytes of the last one, and the seconds until `blocks.{last}.*` is refused (413, from the shapes)."""
    from fastapi.testclient import TestClient

    from app.config import Settings
    from app.main import create_app

    app = create_app(Settings(models=("none",)))
    app.state.models = {"gpt2-shape": zoo.LoadedModel("gpt2-shape", model, tok)}  # no lifespan: not from disk
    client = TestClient(app)
    times, size = [], 0
    for layer in range(n_layers):
        body = {"model": "gpt2-shape", "text": text, "names": [f"blocks.{layer}.attn.hook_pattern"], "heads": [0]}
        t0 = time.perf_counter()
        r = client.post("/api/v1/trace", json=body)
        times.append(time.perf_counter() - t0)
        assert r.status_code == 200, r.text[:300]
        size = len(r.content)
    t0 = time.perf_counter()
    r = client.post("/api/v1/trace", json={"model": "gpt2-shape", "text": text, "names": [f"blocks.{n_layers - 1}.*"]})
    refused = time.perf_counter() - t0
    assert r.status_code in (200, 413), r.text[:300]
    return times, size, (refused if r.status_code == 413 else None)


def gpt2_child(n: int) -> dict:
    """Run in a fresh process: bare forward, then layer by layer with and without the residual cache, then the
    API's per-layer head-0 pattern requests."""
    torch.set_num_threads(1)
    alloc.tune_malloc()  # as the app does at startup
    torch.manual_seed(0)
    cfg = ModelConfig(**GPT2)
    tok = WordTokenizer(gpt2_vocab())
    model = build_model(cfg).eval()
    text = gpt2_text(n)
    ids = torch.tensor(tok.encode(text, bos=True))
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
        resumed = layer_by_layer(model, ids, cfg.n_layers, resume=True)
        torch.set_num_threads(2)  # the same with XRAY_TORCH_THREADS=2 (helps only when the second core is free)
        resumed2 = layer_by_layer(model, ids, cfg.n_layers, resume=True)
        torch.set_num_threads(1)
        values = sum(t.numel() for t in run_with_cache(model, ids, names=["blocks.0.*"], stop_early=True)[1].values())
        rerun = layer_by_layer(model, ids, cfg.n_layers, resume=False)  # before the cache: blocks 0..l per request
    api, api_bytes, refused = api_layer_by_layer(model, tok, text, cfg.n_layers)
    return dict(tokens=n, bare_s=bare, bare_2threads_s=bare2,
                resumed_s=resumed, resumed_total_s=sum(resumed), resumed_2threads_s=resumed2, rerun_s=rerun, rerun_total_s=sum(rerun),
                api_s=api, api_total_s=sum(api), api_bytes=api_bytes, refused_last_layer_s=refused,
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
        lines += ["| tokens | bare forward (s) | bare, 2 threads (s) | 12 layer requests, resumed: total (s) | "
                  "first / median of the rest / max (s) | resumed, 2 threads: total (s) | same without the cache: total (s) | values per layer | "
                  "API, head-0 pattern per layer: total (s) | first / median of the rest (s) | bytes per response | "
                  "API: `blocks.11.*` refused (413) after (s) | peak RSS (MiB) | load |",
                  "|---:|---:|---:|---:|---|---:|---:|---:|---:|---|---:|---:|---:|---|"]
        for r in gpt2:
            res, api = r["resumed_s"], r["api_s"]
            lines.append(
                f"| {r['tokens']} | {r['bare_s']:.2f} | {r['bare_2threads_s']:.2f} | **{r['resumed_total_s']:.2f}** | "
                f"{res[0]:.2f} / {statistics.median(res[1:]):.2f} / {max(res):.2f} | {sum(r['resumed_2threads_s']):.2f} | "
                f"{r['rerun_total_s']:.2f} | "
                f"{r['values_per_layer']:,} | {r['api_total_s']:.2f} | {api[0]:.2f} / {statistics.median(api[1:]):.2f} | "
                f"{r['api_bytes']:,} | "
                f"{'served' if r['refused_last_layer_s'] is None else format(r['refused_last_layer_s'], '.4f')} | "
                f"{r['peak_rss_mib']:.0f} | {r['load']} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=30)
    ap.add_argument("--reps-inproc", type=int, default=300, help="in-process forward repetitions")
    ap.add_argument("--lengths-gpt2", default="128,512,1024")
    ap.add_argument("--json", help="also write the raw results here")
    ap.add_argument("--only-gpt2", action="store_true", help="skip the tiny-gpt and HTTP parts")
    ap.add_argument("--gpt2-child", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.gpt2_child:
        print(json.dumps(gpt2_child(args.gpt2_child)))
        return
    torch.set_num_threads(1)
    alloc.tune_malloc()  # as the app does at startup
    print("machine:", describe(), flush=True)
    tiny, http, peak_kb = [], [], 0
    if not args.only_gpt2:
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
