"""Security (issue 7): every response carries a Content-Security-Policy and `X-Content-Type-Options: nosniff`;
no request makes the server read a file outside the app's own folders; weights load only through safetensors."""
from __future__ import annotations

import pickle
import sys
from pathlib import Path

import pytest
import torch

from app.routers.pages import PAGES, PLOTLY_JS
from model import zoo

ROOT = Path(__file__).resolve().parents[2]
STATIC_FILES = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "static").rglob("*") if p.is_file())


def assert_secure_headers(r):
    csp = r.headers.get("content-security-policy", "")
    assert "default-src 'self'" in csp and "object-src 'none'" in csp and "frame-ancestors 'none'" in csp, (r.url, csp)
    assert r.headers.get("x-content-type-options") == "nosniff", r.url


@pytest.mark.parametrize("path", [p[0] for p in PAGES])
def test_pages_carry_csp_and_nosniff(client, path):
    r = client.get(path)
    assert r.status_code == 200
    assert_secure_headers(r)
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert "unsafe-inline" not in r.headers["content-security-policy"].split("script-src")[1].split(";")[0]


@pytest.mark.parametrize("path", STATIC_FILES + ["static/vendor/plotly.min.js"])
def test_static_files_carry_csp_and_nosniff(client, path):
    r = client.get("/" + path)
    assert r.status_code == 200, path
    assert_secure_headers(r)
    if path.endswith(".js"):  # nosniff makes the browser insist on a JavaScript type for module scripts
        assert "javascript" in r.headers["content-type"]


@pytest.mark.parametrize("method,path,body,status", [
    ("GET", "/api/v1/models", None, 200),
    ("GET", "/api/v1/models/tiny-gpt", None, 200),
    ("POST", "/api/v1/trace", {"model": "tiny-gpt", "text": "the cat", "names": ["hook_embed"]}, 200),
    ("POST", "/api/v1/next-token", {"model": "tiny-gpt", "text": "the cat"}, 200),
    ("POST", "/api/v1/generate", {"model": "tiny-gpt", "text": "the cat", "max_new_tokens": 2}, 200),
    ("GET", "/api/v1/param-count?preset=gpt2-small", None, 200),
    ("GET", "/openapi.json", None, 200),
    ("GET", "/docs", None, 200),
    ("GET", "/api/v1/models/nope", None, 404),
    ("POST", "/api/v1/trace", {"model": "tiny-gpt", "text": ""}, 422),
    ("POST", "/api/v1/trace", {"model": "tiny-gpt", "text": "x" * 3000}, 422),
    ("GET", "/api/v1/trace", None, 405),
    ("GET", "/no/such/page", None, 404),
    ("GET", "/static/no-such-file.js", None, 404),
])
def test_api_and_error_responses_carry_csp_and_nosniff(client, method, path, body, status):
    r = client.request(method, path, json=body)
    assert r.status_code == status, r.text[:300]
    assert_secure_headers(r)


def test_malformed_json_carries_headers(client):
    r = client.post("/api/v1/trace", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 400
    assert_secure_headers(r)


# ---- path traversal ------------------------------------------------------------------------------------------
class FileOpens:
    """Records every file the process opens (Python's `open` audit event) while active."""

    def __init__(self):
        self.paths: list[str] | None = None
        sys.addaudithook(self._hook)

    def _hook(self, event, args):
        if self.paths is not None and event == "open" and isinstance(args[0], (str, bytes, Path)):
            self.paths.append(str(args[0] if not isinstance(args[0], bytes) else args[0].decode(errors="replace")))


_OPENS = FileOpens()  # audit hooks cannot be removed: one per test session, idle unless a test activates it

TRAVERSAL_GETS = [
    "/static/%2e%2e/app/main.py", "/static/..%2Fapp%2Fmain.py", "/static/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
    "/static/js/..%2f..%2fapp%2fmain.py", "/static/%2Fetc%2Fpasswd", "/static//etc/passwd",
    "/static/..%5c..%5capp%5cmain.py", "/static/vendor/..%2F..%2F..%2Fetc%2Fpasswd",
    "/api/v1/models/..%2F..%2Fetc%2Fpasswd", "/api/v1/models/..", "/api/v1/models/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "/api/v1/models/..%2F..%2Fetc/timeline", "/api/v1/models/..%2Ftiny-gpt/timeline",
    "/api/v1/models/tiny-gpt/weights/..%2F..%2Fetc%2Fpasswd", "/api/v1/models/..%2F..%2Fetc%2Fpasswd/heads",
    "/api/v1/models/%2Fetc%2Fpasswd/positions",
]
HOSTILE_IDS = ["../../etc/passwd", "..%2F..%2Fetc%2Fpasswd", "/etc/passwd", "tiny-gpt/../../../etc/passwd",
               "..", ".", "tiny-gpt\x00", "C:\\Windows\\win.ini", "timeline/../tiny-gpt", "~/.ssh/id_rsa"]


def _inside_the_app(path: str) -> bool:
    p = Path(path)
    if not p.is_absolute():
        p = Path.cwd() / p
    if ".." in p.parts:  # no resolve(): a '..' in what was opened is itself a failure
        return False
    data = [ROOT / "static", ROOT / "templates", zoo.CHECKPOINT_DIR, PLOTLY_JS.parent]
    # Python source of the app and its packages (tracebacks and lazy imports read it through linecache)
    code = [ROOT / "app", ROOT / "model", Path(sys.prefix), Path(sys.base_prefix)]
    return any(p.is_relative_to(a) for a in data) or (p.suffix == ".py" and any(p.is_relative_to(a) for a in code))


@pytest.fixture
def watch_opens():
    _OPENS.paths = []
    try:
        yield _OPENS.paths
    finally:
        _OPENS.paths = None


@pytest.mark.parametrize("url", TRAVERSAL_GETS)
def test_traversal_urls_get_4xx_and_open_nothing_outside(client, watch_opens, url):
    r = client.get(url)
    assert 400 <= r.status_code < 500, (url, r.status_code, r.text[:200])
    assert "root:" not in r.text and "import" not in r.text  # neither /etc/passwd nor app/main.py leaked
    assert_secure_headers(r)
    outside = [p for p in watch_opens if not _inside_the_app(p)]
    assert not outside, (url, outside)


@pytest.mark.parametrize("model_id", HOSTILE_IDS)
@pytest.mark.parametrize("path,extra", [
    ("/api/v1/trace", {"text": "the cat"}),
    ("/api/v1/next-token", {"text": "the cat"}),
    ("/api/v1/generate", {"text": "the cat", "max_new_tokens": 1}),
    ("/api/v1/timeline/attention", {"text": "the cat", "layer": 0}),
])
def test_hostile_model_ids_in_bodies_get_4xx_and_open_nothing(client, watch_opens, model_id, path, extra):
    r = client.post(path, json={"model": model_id, **extra})
    assert 400 <= r.status_code < 500, r.text[:200]
    assert r.json()["error"]["code"]
    outside = [p for p in watch_opens if not _inside_the_app(p)]
    assert not outside, outside


@pytest.mark.parametrize("steps", [[-1], [10**12], ["../../etc/passwd"], ["1/../../x"], [1.5]])
def test_timeline_step_ids_are_ints_of_kept_snapshots(client, watch_opens, steps):
    r = client.post("/api/v1/timeline/attention", json={"model": "tiny-gpt", "text": "the cat", "steps": steps})
    assert r.status_code in (404, 422), r.text[:200]
    outside = [p for p in watch_opens if not _inside_the_app(p)]
    assert not outside, outside


@pytest.mark.parametrize("model_id", HOSTILE_IDS)
def test_zoo_refuses_ids_that_are_not_plain_names(tmp_path, model_id):
    with pytest.raises(KeyError):
        zoo.checkpoint_paths(model_id, tmp_path)


def test_watcher_sees_opens(watch_opens):
    """The traversal tests would pass vacuously if the audit hook saw nothing: it does see a real open."""
    (ROOT / "pyproject.toml").read_text()
    assert any(p.endswith("pyproject.toml") for p in watch_opens)
    assert not _inside_the_app(str(ROOT / "pyproject.toml")) and not _inside_the_app("/etc/passwd")
    assert _inside_the_app(str(ROOT / "static" / "js" / "api.js"))


# ---- weights only through safetensors -----------------------------------------------------------------------
def test_zoo_load_never_unpickles(monkeypatch):
    def refuse(*a, **kw):
        raise AssertionError("weights must not be read with pickle / torch.load")

    monkeypatch.setattr(torch, "load", refuse)
    monkeypatch.setattr(torch.serialization, "load", refuse)
    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pickle, "Unpickler", refuse)
    ids = zoo.available()
    assert zoo.DEFAULT_MODEL in ids
    for model_id in ids:
        loaded = zoo.load(model_id)
        assert sum(p.numel() for p in loaded.model.parameters()) > 0


def test_checkpoints_are_safetensors_only():
    """No pickle-based weight file ships (every model and timeline snapshot is .safetensors + .json)."""
    files = [p for p in zoo.CHECKPOINT_DIR.rglob("*") if p.is_file()]
    assert any(p.suffix == ".safetensors" for p in files)
    pickled = [p for p in files if p.suffix in {".pt", ".pth", ".bin", ".pkl", ".pickle", ".ckpt", ".npy", ".npz"}]
    assert not pickled, pickled
    for model_id in zoo.available():
        assert zoo.checkpoint_paths(model_id)[0].suffix == ".safetensors"


def test_a_pickle_beside_the_weights_is_ignored(tmp_path, monkeypatch):
    """A `.pt` / `.bin` file dropped in the checkpoint folder is never a model and never read."""
    src = zoo.load(zoo.DEFAULT_MODEL)
    zoo.save(src, tmp_path)
    (tmp_path / "evil.pt").write_bytes(pickle.dumps({"x": 1}))
    (tmp_path / "evil.json").write_text("{}")
    monkeypatch.setattr(torch, "load", lambda *a, **k: (_ for _ in ()).throw(AssertionError("torch.load called")))
    assert zoo.available(tmp_path) == [zoo.DEFAULT_MODEL]
    with pytest.raises(KeyError):
        zoo.load("evil", tmp_path)


LITERAL_DOT_PATHS = ["/static/../app/main.py", "/static/../../../../etc/passwd", "/static/js/../../app/main.py",
                     "/static/./../pyproject.toml", "/api/v1/models/../../etc/passwd"]


@pytest.mark.parametrize("path", LITERAL_DOT_PATHS)
def test_literal_dot_segments_sent_as_is(client, watch_opens, path):
    """A client can send '..' unnormalised (curl --path-as-is); httpx would normalise it, so the request goes
    straight into the ASGI app."""
    import anyio

    sent = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": [(b"host", b"testserver")], "client": ("127.0.0.1", 1234), "server": ("testserver", 80),
             "state": {}}
    anyio.run(client.app, scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    assert 400 <= start["status"] < 500, (path, start["status"], body[:200])
    assert b"root:" not in body and b"import" not in body and b"[project]" not in body
    headers = {k.lower(): v for k, v in start["headers"]}
    assert headers[b"x-content-type-options"] == b"nosniff" and b"default-src 'self'" in headers[b"content-security-policy"]
    outside = [p for p in watch_opens if not _inside_the_app(p)]
    assert not outside, outside
