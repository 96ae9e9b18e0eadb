"""Traced forward of the core vs transformers' eager forward, on a GPT-2-small-shaped model.

One process, one thread count (torch.set_num_threads), the same random weights (transformers' GPT2LMHeadModel
from GPT2Config(): 12 layers, 12 heads, d_model 768, vocab 50257; nothing is downloaded) converted by
model/convert/gpt2.py. Timed, alternately so that a change in machine load hits both alike:
  ours:  run_with_cache(model, tokens) — every activation name captured (1-D input, as the API runs it)
  hf:    GPT2LMHeadModel(input_ids, output_attentions=True), attn_implementation="eager", inference_mode
The logits of the two are checked to agree before timing. malloc is tuned as the app tunes it (model/alloc.py).

Usage: `OMP_NUM_THREADS=1 python -m bench.hf [--tokens 128] [--reps 20] [--threads 1] [--profile]`
Prints the medians, the ratio, and (with --profile) the top operators of our traced forward.

`--page`: the attention page's server time at this scale instead. The same shape is saved with
`save_pretrained` (random init, a byte-level BPE trained here, as tests/model/hf_fixtures builds them) and served
by a real uvicorn (`XRAY_MODELS=hf:<dir>`, one torch thread, bench/server.py); over one keep-alive connection on
localhost it times the requests the page makes, with a new text of exactly `--tokens` tokens for every sample:
  first picture: GET /api/v1/models/{id}, then POST /api/v1/trace with names=[blocks.0.attn.hook_pattern]
  (the default layer; the page draws as soon as it arrives), and the same for the last layer (a link to layer 11);
  after it: the other 11 layers one request at a time, in order (each resumes from the residual stream the server
  kept), and GET /api/v1/models/{id}/heads (head labels, computed once per model).
Writes the table into docs/benchmarks.md (block attention-first-picture) unless --no-write.
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch

from model import alloc, doc_block
from model.convert import gpt2
from model.convert.common import Weights
from model.transformer import build_model, after_load, run_with_cache

from .machine import describe, load_avg

DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
BLOCK = "attention-first-picture"


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


def page_checkpoint(directory: Path) -> Path:
    """GPT-2 small's shape (transformers' GPT2Config(): 12 layers, 12 heads, d_model 768, vocabulary 50,257), random
    init, saved as a user's directory holds it, with a byte-level BPE trained here (its few hundred tokens are
    the ids the texts use; the embedding keeps all 50,257 rows)."""
    import transformers

    from tests.model.hf_fixtures import byte_bpe
    tok = byte_bpe(300, bos_token="<|endoftext|>", eos_token="<|endoftext|>")
    torch.manual_seed(0)
    model = transformers.GPT2LMHeadModel(transformers.GPT2Config(bos_token_id=0, eos_token_id=0))
    model.save_pretrained(directory)
    tok.save_pretrained(directory)
    return directory


def texts_of(client, model: str, n_tokens: int, count: int) -> list[str]:
    """`count` different texts of exactly n_tokens input ids (as the server encodes them, <bos> included), words of
    the fixture sentences in seeded random orders."""
    import random

    from tests.model.hf_fixtures import SENTENCES
    words = " ".join(SENTENCES).replace(",", "").split()
    rng = random.Random(0)
    out = []

    def length(text: str) -> int:
        return len(client.post("/api/v1/tokenize", json={"model": model, "text": text}).json()["input_ids"])

    while len(out) < count:
        picked: list[str] = []
        while True:
            picked.append(rng.choice(words))
            n = length(" ".join(picked))
            if n >= n_tokens:
                break
        for filler in ("", "a", "I"):  # one word too many: swap it for a one-token word, or start over
            text = " ".join(picked[:-1] + ([filler] if filler else []))
            if length(text) == n_tokens:
                out.append(text)
                break
    return out


def page_timing(args) -> None:
    import httpx

    from .server import uvicorn_server
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        ckpt = page_checkpoint(Path(tmp) / "gpt2-small-shape")
        saved = time.perf_counter() - t0
        load_before = load_avg()
        env = {"XRAY_MODELS": f"hf:{ckpt}", "HF_HUB_OFFLINE": "1", "XRAY_TORCH_THREADS": str(args.threads)}
        with uvicorn_server(env) as (base, _pid), httpx.Client(base_url=base, timeout=600) as client:
            model = ckpt.name

            def timed(method: str, url: str, body: dict | None = None) -> tuple[float, int]:
                t = time.perf_counter()
                r = client.request(method, url, json=body)
                r.raise_for_status()
                return (time.perf_counter() - t) * 1e3, len(r.content)

            load_ms, _ = timed("GET", f"/api/v1/models/{model}")  # loads the weights (first use)
            texts = texts_of(client, model, args.tokens, 2 * args.reps + 1)
            pattern = lambda l, text: {"model": model, "text": text, "names": [f"blocks.{l}.attn.hook_pattern"]}  # noqa: E731
            timed("POST", "/api/v1/trace", pattern(0, texts[-1]))  # warm-up
            rows = {k: [] for k in ("details", "layer 0", "first picture", "layer 11 alone", "first picture, layer 11",
                                    "the other 11 layers", "all 12 layers")}
            size = 0
            for r in range(args.reps):
                d, _ = timed("GET", f"/api/v1/models/{model}")
                first, size = timed("POST", "/api/v1/trace", pattern(0, texts[2 * r]))
                rest = sum(timed("POST", "/api/v1/trace", pattern(l, texts[2 * r]))[0] for l in range(1, 12))
                last, _ = timed("POST", "/api/v1/trace", pattern(11, texts[2 * r + 1]))
                for k, v in (("details", d), ("layer 0", first), ("first picture", d + first), ("layer 11 alone", last),
                             ("first picture, layer 11", d + last), ("the other 11 layers", rest),
                             ("all 12 layers", first + rest)):
                    rows[k].append(v)
            heads_ms, _ = timed("GET", f"/api/v1/models/{model}/heads")
        load_after = load_avg()
    head = (f"Measured {time.strftime('%Y-%m-%d')} by `bench/hf.py --page` ({args.reps} samples, {args.tokens} tokens, a new "
            f"text per sample) on: {describe().rsplit('; load average', 1)[0]}; load average {load_before} at the start, "
            f"{load_after} at the end. "
            f"Saving the checkpoint took {saved:.0f} s; the first request, which loads it, {load_ms / 1e3:.1f} s.")
    lines = ["| request(s) | median (ms) | p90 (ms) | slowest (ms) |", "|---|---:|---:|---:|"]
    for k, v in rows.items():
        q = statistics.quantiles(v, n=10)[-1] if len(v) > 1 else v[0]
        bold = "**" if k == "first picture" else ""
        lines.append(f"| {bold}{k}{bold} | {bold}{statistics.median(v):.0f}{bold} | {q:.0f} | {max(v):.0f} |")
    lines.append(f"| head labels, first request (computed once per model) | {heads_ms:.0f} | | |")
    text = "\n".join(lines) + f"\n\nOne layer's pattern at {args.tokens} tokens: {size:,} bytes of JSON (sent gzip-compressed, level 1, as to a browser; the times include the compression)."
    print(head)
    print(text)
    if not args.no_write:
        doc_block.write(DOC, BLOCK, f"{head}\n\n{text}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tokens", type=int, default=128)
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--page", action="store_true", help="the attention page's server time at this scale (see above)")
    ap.add_argument("--no-write", action="store_true", help="--page: print, leave docs/benchmarks.md alone")
    ap.add_argument("--mmap-mib", type=int, default=alloc.MMAP_THRESHOLD // 2**20,
                    help="malloc's mmap threshold (model/alloc.py; glibc caps it at 32)")
    ap.add_argument("--trim-mib", type=int, default=alloc.TRIM_THRESHOLD // 2**20,
                    help="freed heap kept before malloc returns it to the system")
    args = ap.parse_args()
    if args.page:
        return page_timing(args)
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
