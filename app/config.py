"""Settings, read once from the environment (XRAY_* variables)."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from model.zoo import CHECKPOINT_DIR, DEFAULT_MODEL


@dataclass(frozen=True)
class Settings:
    checkpoint_dir: Path = field(default_factory=lambda: Path(os.environ.get("XRAY_CHECKPOINT_DIR", CHECKPOINT_DIR)))
    default_model: str = field(default_factory=lambda: os.environ.get("XRAY_DEFAULT_MODEL", DEFAULT_MODEL))
    # comma-separated ids to load; empty = every checkpoint in checkpoint_dir
    models: tuple[str, ...] = field(
        default_factory=lambda: tuple(m for m in os.environ.get("XRAY_MODELS", "").split(",") if m))
    torch_threads: int = field(default_factory=lambda: int(os.environ.get("XRAY_TORCH_THREADS", "1")))


def get_settings() -> Settings:
    return Settings()
