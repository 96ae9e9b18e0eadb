"""A TestClient over the shipped checkpoints (model/checkpoints, or XRAY_CHECKPOINT_DIR), loaded once per module."""
from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app

GPT, TRANSLATOR = "tiny-gpt", "tiny-translator"


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app(Settings())) as c:
        yield c


@pytest.fixture(scope="module")
def loaded(client):
    """{id: LoadedModel} as the app loaded them."""
    return client.app.state.models


def _words(loaded_model, n: int = 5, skip: int = 0) -> str:
    vocab = [w for w in loaded_model.tokenizer.vocab[4:] if w.isalpha()]
    return " ".join(vocab[(skip + i) % len(vocab)] for i in range(n))


def _error_of(r, status: int) -> dict:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    assert body["error"]["message"].strip()
    return body["error"]


@pytest.fixture
def words():
    """words(loaded_model, n, skip): n ordinary words of the model's own vocabulary (no punctuation), as text."""
    return _words


@pytest.fixture
def error_of():
    """error_of(response, status): assert the API's error shape with this status; return {code, message}."""
    return _error_of
