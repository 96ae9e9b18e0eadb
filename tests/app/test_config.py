"""Settings come from XRAY_* environment variables, validated (app/config.py, pydantic-settings)."""
from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from app.config import Settings
from model import threads, zoo


def test_defaults(monkeypatch):
    for name in ("XRAY_CHECKPOINT_DIR", "XRAY_DEFAULT_MODEL", "XRAY_MODELS", "XRAY_TORCH_THREADS"):
        monkeypatch.delenv(name, raising=False)
    s = Settings()
    assert (s.checkpoint_dir, s.default_model, s.models, s.torch_threads) == (
        zoo.CHECKPOINT_DIR, zoo.DEFAULT_MODEL, (), threads.DEFAULT)


def test_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("XRAY_CHECKPOINT_DIR", str(tmp_path))
    monkeypatch.setenv("XRAY_MODELS", "tiny-gpt, tiny-translator,")
    monkeypatch.setenv("XRAY_TORCH_THREADS", "3")
    monkeypatch.setenv("XRAY_DEFAULT_MODEL", "tiny-translator")
    s = Settings()
    assert s.checkpoint_dir == Path(tmp_path) and s.models == ("tiny-gpt", "tiny-translator")
    assert s.torch_threads == 3 and s.default_model == "tiny-translator"


@pytest.mark.parametrize("value", ["0", "-1", "two", "1.5"])
def test_bad_thread_count_is_refused(monkeypatch, value):
    monkeypatch.setenv("XRAY_TORCH_THREADS", value)
    with pytest.raises(ValidationError, match="torch_threads"):
        Settings()
