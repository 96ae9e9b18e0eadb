"""Small helpers shared by the e2e tests: talking to the API directly and loading a checkpoint in-process for
an independent recomputation."""
from __future__ import annotations

import json
import os
import urllib.request
from functools import lru_cache
from pathlib import Path

from model import zoo

CHECKPOINTS = Path(os.environ.get("XRAY_CHECKPOINT_DIR", zoo.CHECKPOINT_DIR))


def api(base: str, path: str, body: dict | None = None) -> dict:
    """GET (body None) or POST JSON to the running server; returns the parsed JSON (raises on a 4xx/5xx)."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method="GET" if body is None else "POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read())


@lru_cache(maxsize=None)
def loaded_model(model_id: str) -> zoo.LoadedModel:
    return zoo.load(model_id, CHECKPOINTS)
