"""Time to the first useful picture of every page, in Debian's headless Chromium at 1400 px, and write the table
into docs/benchmarks.md (between the page-timing markers). A benchmark, not a test: nothing is asserted.

"First useful picture": the moment the page has drawn what it fetched for its first view (page.js marks it with
performance.mark('xray-first-picture') when <body data-ready> first turns "true"; for a page without that mark,
e.g. an older checkout given with --root, the time at which Playwright saw data-ready="true", an upper bound).
Times are from the start of the navigation (performance.timeOrigin).

- warm: a browser profile that has visited every page once (its HTTP cache and V8 code cache hold plotly.js and
  the modules), a server that has loaded its models and answered once; each sample opens the page in a new tab.
- cold: a new, empty browser profile for each page (plotly.js fetched and compiled from scratch); server warm.

    OMP_NUM_THREADS=1 .venv/bin/python -m bench.page_timing            # ~2 min; --root DIR times another checkout
"""
from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

from bench.machine import describe
from model import doc_block

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks.md"
BLOCK = "page-timing"  # the generated block of docs/benchmarks.md (model/doc_block.py)
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
PAGES = ["/", "/trace", "/components/layer-norm", "/components/residual", "/components/ffn", "/components/positions",
         "/components/masking", "/components/params", "/logit-lens", "/attention", "/sampling", "/compare", "/glossary"]
READ = """() => {
  const m = performance.getEntriesByName('xray-first-picture')[0];
  const fcp = performance.getEntriesByName('first-contentful-paint')[0];
  const plotly = performance.getEntriesByType('resource').find((r) => r.name.includes('plotly'));
  return { picture: m ? m.startTime : performance.now(), marked: Boolean(m), fcp: fcp ? fcp.startTime : null,
           plotly: plotly ? { bytes: plotly.transferSize, ms: plotly.responseEnd - plotly.startTime } : null };
}"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(root: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "XRAY_TORCH_THREADS": "1", "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1", "--port", str(port),
                             "--log-level", "warning"], cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(480):
        try:
            with urllib.request.urlopen(base + "/openapi.json", timeout=2):
                return proc, base
        except OSError:
            time.sleep(0.25)
    proc.kill()
    raise RuntimeError("server did not start")


def visit(context, url: str) -> dict:
    page = context.new_page()
    try:
        page.goto(url)
        page.wait_for_selector('body[data-ready="true"]', state="attached", timeout=60_000)
        return page.evaluate(READ)
    finally:
        page.close()


def measure(base: str, reps: int) -> dict[str, dict]:
    out: dict[str, dict] = {}
    with sync_playwright() as pw:
        # cold: a new profile per page
        for path in PAGES:
            with tempfile.TemporaryDirectory() as profile:
                ctx = pw.chromium.launch_persistent_context(profile, executable_path="/usr/bin/chromium", headless=True,
                                                            args=ARGS, viewport={"width": 1400, "height": 1000})
                out[path] = {"cold": visit(ctx, base + path)}
                ctx.close()
        # warm: one profile, every page visited once, then `reps` visits each, round robin
        with tempfile.TemporaryDirectory() as profile:
            ctx = pw.chromium.launch_persistent_context(profile, executable_path="/usr/bin/chromium", headless=True,
                                                        args=ARGS, viewport={"width": 1400, "height": 1000})
            for path in PAGES:
                visit(ctx, base + path)
            for _ in range(reps):
                for path in PAGES:
                    out[path].setdefault("warm", []).append(visit(ctx, base + path))
            ctx.close()
    return out


def table(results: dict[str, dict]) -> str:
    rows = ["| page | warm: first picture, median (ms) | warm: slowest (ms) | warm: first paint, median (ms) | cold: first picture (ms) | plotly.js |",
            "|---|---:|---:|---:|---:|---|"]
    for path, r in results.items():
        warm = [w["picture"] for w in r["warm"]]
        fcp = [w["fcp"] for w in r["warm"] if w["fcp"] is not None]
        pl = r["warm"][-1]["plotly"]
        plotly = "not loaded" if pl is None else ("from the cache" if pl["bytes"] == 0 else f"{pl['bytes']:,} bytes fetched")
        mark = "" if all(w["marked"] for w in r["warm"]) else " (seen)"
        rows.append(f"| `{path}` | {statistics.median(warm):.0f}{mark} | {max(warm):.0f} | "
                    f"{statistics.median(fcp):.0f} | {r['cold']['picture']:.0f} | {plotly} |")
    return "\n".join(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--root", type=Path, default=ROOT, help="checkout whose app is timed (default: this one)")
    ap.add_argument("--no-write", action="store_true", help="print the table, leave docs/benchmarks.md alone")
    args = ap.parse_args()
    proc, base = start_server(args.root)
    try:
        load_before = os.getloadavg()
        t0 = time.monotonic()
        results = measure(base, args.reps)
        took = time.monotonic() - t0
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    text = table(results)
    head = (f"Measured {time.strftime('%Y-%m-%d')} by `bench/page_timing.py` ({args.reps} warm samples per page, "
            f"{took:.0f} s) on: {describe()} at the end, {' '.join(f'{x:.2f}' for x in load_before)} at the start.")
    print(head)
    print(text)
    if args.no_write:
        return
    doc_block.write(DOC, BLOCK, f"{head}\n\n{text}",
                    heading="## Pages: time to the first useful picture (`bench/page_timing.py`)")


if __name__ == "__main__":
    main()
