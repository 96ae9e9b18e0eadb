"""End-to-end fixtures: a real uvicorn server on a free port and Debian's headless Chromium via Playwright.

- `server` (session): starts `uvicorn app.main:app` as a subprocess (XRAY_TORCH_THREADS=1; any other XRAY_*
  variables of the test process, e.g. XRAY_CHECKPOINT_DIR, are passed through), waits until it answers,
  yields its base URL and stops it at the end. `serve(name, **env)` starts another one with other settings
  (e.g. XRAY_MODELS naming checkpoints a test built) for a module's fixture.
- `hf_server` (session, only for the tests that ask for it): a second server over Hugging Face checkpoints
  built at random by the tests (tests/e2e/hf_models.py); yields (base URL, {role: model id}).
- `browser` (session): Chromium at /usr/bin/chromium. A missing browser FAILS the run (CI must install it);
  Playwright's own browser download is never used.
- `page`: a fresh page whose console errors, uncaught page errors and dialogs (alert/confirm) are recorded;
  the test fails at teardown if any occurred. Use `page.xray_allow_console(regex)` for an expected error
  (e.g. a 4xx the test provokes on purpose).
- `screenshot(page, name)`: saves artifacts/<name>.png (gitignored) and returns the path.
"""
from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts"
CHROMIUM = Path(os.environ.get("XRAY_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
STARTUP_TIMEOUT_S = 120


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_ready(url: str, proc: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"uvicorn exited with {proc.returncode}:\n{log_path.read_text(errors='replace')[-4000:]}")
        try:
            with urllib.request.urlopen(url + "/openapi.json", timeout=5) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            pass
        time.sleep(0.25)
    raise RuntimeError(f"server not ready after {STARTUP_TIMEOUT_S}s:\n{log_path.read_text(errors='replace')[-4000:]}")


@contextlib.contextmanager
def serve(name: str, **env_vars: str | None):
    """A uvicorn server of the app in a subprocess on a free port, with the test process's environment plus
    `env_vars` (None removes a variable, e.g. XRAY_MODELS=None serves the checkpoint folder's models); yields its
    base URL once it answers, and stops it on exit. Its log is artifacts/uvicorn-e2e-<name>-<port>.log."""
    port = _free_port()
    env = {**os.environ, "XRAY_TORCH_THREADS": "1", "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    for k, v in env_vars.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    ARTIFACTS.mkdir(exist_ok=True)
    log_path = ARTIFACTS / f"uvicorn-e2e-{name}-{port}.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1", "--port",
                                 str(port), "--log-level", "warning"], cwd=ROOT, env=env, stdout=log,
                                stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_ready(base, proc, log_path)
            yield base
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture(scope="session")
def server():
    """The app on its shipped models (and whatever XRAY_* the test process sets)."""
    with serve("main") as base:
        yield base


@pytest.fixture(scope="session")
def hf_server(tmp_path_factory):
    """A second server (the first one is left as it is) serving Hugging Face checkpoints built here at random
    (tests/e2e/hf_models.py): a GPT-2-shaped model of 12 layers x 12 heads, a Llama with grouped-query attention,
    a GPT-NeoX, a BERT, a Marian translator. Yields (base URL, {role: model id})."""
    from .hf_models import build

    ids, specs = build(tmp_path_factory.mktemp("hf-e2e"))
    with serve("hf", XRAY_MODELS=",".join(specs), HF_HUB_OFFLINE="1") as base:
        yield base, ids


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: install Debian's chromium (e2e tests never skip)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


class _Problems:
    def __init__(self):
        self.items: list[str] = []
        self.allowed: list[re.Pattern] = []

    def add(self, kind: str, text: str) -> None:
        if not any(p.search(text) for p in self.allowed):
            self.items.append(f"{kind}: {text}")


@pytest.fixture
def page(browser, request):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    problems = _Problems()
    def on_console(m):
        if m.type != "error":
            return
        url = (m.location or {}).get("url", "")
        if url.endswith("/favicon.ico"):  # the browser asks for it on its own; not a page error
            return
        problems.add("console.error", f"{m.text} [{url}]" if url else m.text)
    pg.on("console", on_console)
    pg.on("pageerror", lambda e: problems.add("pageerror", str(e)))

    def on_dialog(d):
        problems.items.append(f"dialog ({d.type}): {d.message}")
        d.dismiss()
    pg.on("dialog", on_dialog)
    pg.xray_problems = problems  # type: ignore[attr-defined]
    pg.xray_allow_console = lambda pattern: problems.allowed.append(re.compile(pattern))  # type: ignore[attr-defined]
    yield pg
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        try:
            screenshot(pg, f"FAILED-{request.node.name}")
        except Exception:  # noqa: BLE001 - a screenshot of a broken page is best effort
            pass
    context.close()
    if problems.items:
        pytest.fail("browser reported errors:\n" + "\n".join(problems.items), pytrace=False)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, f"rep_{rep.when}", rep)


def screenshot(pg, name: str, full_page: bool = True) -> Path:
    """Save a PNG of the page under artifacts/ and return its path."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{re.sub(r'[^A-Za-z0-9._-]+', '_', name)}.png"
    pg.screenshot(path=str(path), full_page=full_page)
    return path


@pytest.fixture
def save_screenshot():
    return screenshot


def wait_ready(pg, timeout: float = 30_000, state: str = "true") -> None:
    """Wait until the page's module sets <body data-ready="true"> (pages set it after their data is drawn).

    A CSS selector wait, not wait_for_function: the pages' Content-Security-Policy forbids eval, which
    Playwright's wait_for_function needs for its predicate."""
    pg.wait_for_selector(f'body[data-ready="{state}"]', state="attached", timeout=timeout)
