"""Load test: wrk (Debian package `wrk`) against a local uvicorn server, 32 connections for 60 s per request.

For each request: requests/s, latency p50/p99, non-2xx responses and socket errors (target 0), and the server's
peak resident memory (VmHWM from /proc/<pid>/status, plus VmRSS sampled every 0.5 s), which must stay bounded.

Usage: `OMP_NUM_THREADS=1 python -m bench.load [--duration 60] [--connections 32] [--only trace-page,next-token]`
"""
from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from .machine import describe, load_avg
from .server import proc_status_kb, uvicorn_server

TEXT = "the cat that the dogs chase sat on the mat and it slept"
REQUESTS = {
    # what the attention page asks for: one layer's pattern
    "trace-page": ("/api/v1/trace", {"model": "tiny-gpt", "text": TEXT, "names": ["blocks.0.attn.hook_pattern"]}),
    # every activation of the sentence (13 tokens)
    "trace-full": ("/api/v1/trace", {"model": "tiny-gpt", "text": TEXT}),
    "next-token": ("/api/v1/next-token", {"model": "tiny-gpt", "text": TEXT, "temperature": 0.8, "top_k": 10,
                                          "top_p": 0.9}),
}

LUA = """
wrk.method = "POST"
wrk.body = [==[%s]==]
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept-Encoding"] = "gzip"
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('RESULT {"requests": %%d, "duration_us": %%d, "bytes": %%d, "p50_us": %%d, "p90_us": %%d, '
    .. '"p99_us": %%d, "max_us": %%d, "non2xx": %%d, "connect": %%d, "read": %%d, "write": %%d, "timeout": %%d}\\n',
    summary.requests, summary.duration, summary.bytes, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, e.status, e.connect, e.read, e.write, e.timeout))
end
"""


def run_wrk(url: str, path: str, body: dict, duration: int, connections: int) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(LUA % json.dumps(body))
        script = f.name
    try:
        out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--timeout", "30s", "-s", script,
                              url + path], capture_output=True, text=True, check=True).stdout
    finally:
        Path(script).unlink()
    return json.loads(next(line for line in out.splitlines() if line.startswith("RESULT "))[7:])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=int, default=60)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--only", default=",".join(REQUESTS))
    args = ap.parse_args()
    print("machine:", describe(), flush=True)
    rows = []
    with uvicorn_server() as (url, pid):  # every shipped checkpoint loaded, as in production
        rss_start = proc_status_kb(pid, "VmRSS")
        for name in args.only.split(","):
            path, body = REQUESTS[name]
            samples, stop = [], threading.Event()

            def sample():
                while not stop.wait(0.5):
                    samples.append(proc_status_kb(pid, "VmRSS"))

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            load_before = load_avg()
            r = run_wrk(url, path, body, args.duration, args.connections)
            stop.set()
            sampler.join()
            rows.append(dict(name=name, path=path, rps=r["requests"] / (r["duration_us"] / 1e6), **r,
                             rss_max_mib=max(samples) / 1024, hwm_mib=proc_status_kb(pid, "VmHWM") / 1024,
                             load_before=load_before, load_after=load_avg()))
            print(json.dumps(rows[-1]), flush=True)
    print(f"\nserver RSS at start (models loaded): {rss_start / 1024:.0f} MiB; {args.connections} connections, "
          f"{args.duration} s each, wrk -t2\n")
    print("| request | req/s | p50 (ms) | p90 (ms) | p99 (ms) | requests | non-2xx | socket errors | server RSS max (MiB) "
          "| server VmHWM after (MiB) | load avg before → after |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for r in rows:
        errs = r["connect"] + r["read"] + r["write"] + r["timeout"]
        print(f"| {r['name']} (`{r['path']}`) | {r['rps']:.0f} | {r['p50_us'] / 1000:.1f} | {r['p90_us'] / 1000:.1f} | "
              f"{r['p99_us'] / 1000:.1f} | {r['requests']:,} | {r['non2xx']} | {errs} | {r['rss_max_mib']:.0f} | "
              f"{r['hwm_mib']:.0f} | {r['load_before']} → {r['load_after']} |")


if __name__ == "__main__":
    main()
