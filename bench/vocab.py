"""POST /api/v1/next-token at a GPT-2-sized vocabulary: the default answer (candidates only) against `full: true`
(the whole-vocabulary `probs` and `logits`, which the sampling page asks for once).

The checkpoint is built here and nothing is downloaded: transformers' GPT2LMHeadModel with its random
initialisation, vocabulary 50,257 as GPT-2's, but 2 layers, d_model 64, 4 heads (the answer's size depends on the
vocabulary, not on the depth), saved with save_pretrained beside a small byte-level BPE tokenizer (the ids it has
no piece for show as <unused N>; only the candidates' token strings are sent), and served by a real uvicorn
(`XRAY_MODELS=hf:<dir>`, one torch thread). Each request is timed to its last byte over one keep-alive
connection (httpx, decompression included, JSON parsing not), gzip accepted or not; and the route function alone,
in process (tokenize, forward, filters, candidates, the JSON bytes), for the server's own share.

Usage: `OMP_NUM_THREADS=1 python -m bench.vocab [--reps 30]`
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import httpx
import torch

from .machine import describe, load_avg
from .server import uvicorn_server

VOCAB = 50_257
TEXT = "the lighthouse keeper counted ships until the fog rolled in"


def checkpoint(directory: Path) -> Path:
    import transformers

    from tests.model.hf_fixtures import byte_bpe
    torch.manual_seed(0)
    cfg = transformers.GPT2Config(vocab_size=VOCAB, n_positions=128, n_embd=64, n_layer=2, n_head=4,
                                  bos_token_id=0, eos_token_id=0)
    transformers.GPT2LMHeadModel(cfg).save_pretrained(directory)
    byte_bpe().save_pretrained(directory)
    return directory


def measure(client: httpx.Client, body: dict, gzip: bool, reps: int) -> dict:
    headers = {"accept-encoding": "gzip" if gzip else "identity"}
    times = []
    for i in range(reps + 3):
        t0 = time.perf_counter()
        r = client.post("/api/v1/next-token", json=body, headers=headers)  # read to the last byte, decompressed
        if i >= 3:
            times.append(time.perf_counter() - t0)
    data = r.raise_for_status().json()
    return {"p50_ms": 1000 * statistics.median(times), "p90_ms": 1000 * statistics.quantiles(times, n=10)[-1],
            "wire_bytes": r.num_bytes_downloaded, "json_bytes": len(r.content),
            "vocab": len(data["logits"]) if data["logits"] else None}


def in_process(path: Path, body: dict, reps: int) -> float:
    """Median ms of the route function itself (tokenize, forward, filters, candidates, JSON bytes), no HTTP."""
    from app.routers.next_token import next_token
    from app.schemas import NextTokenIn
    from model.registry import ModelRegistry
    loaded = ModelRegistry(f"hf:{path}").model(path.name)
    args = NextTokenIn(**body)
    times = []
    with torch.inference_mode():
        for i in range(reps + 3):
            t0 = time.perf_counter()
            next_token(args, loaded)
            if i >= 3:
                times.append(time.perf_counter() - t0)
    return 1000 * statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=30)
    args = ap.parse_args()
    print(describe(), flush=True)
    torch.set_num_threads(1)  # as the server runs (XRAY_TORCH_THREADS=1)
    with tempfile.TemporaryDirectory() as tmp:
        path = checkpoint(Path(tmp) / "gpt2-50k")
        bodies = {full: {"model": "gpt2-50k", "text": TEXT, "temperature": 1, "n_candidates": 20 if full else 10,
                         **({"full": True} if full else {})} for full in (False, True)}
        for full, body in bodies.items():
            print(f"full={full!s:5} in process (the route function): {in_process(path, body, args.reps):6.1f} ms",
                  flush=True)
        with uvicorn_server({"XRAY_MODELS": f"hf:{path}", "HF_HUB_OFFLINE": "1"}) as (url, _):
            with httpx.Client(base_url=url, timeout=120) as client:
                for full, body in bodies.items():
                    for gzip in (True, False):
                        r = measure(client, body, gzip, args.reps)
                        print(f"full={full!s:5} gzip={gzip!s:5} HTTP p50 {r['p50_ms']:6.1f} ms  "
                              f"p90 {r['p90_ms']:6.1f} ms  "
                              f"wire {r['wire_bytes']:>9,} B  JSON {r['json_bytes']:>9,} B  vectors {r['vocab']}",
                              flush=True)
    print(f"load average at the end: {load_avg()}")


if __name__ == "__main__":
    main()
