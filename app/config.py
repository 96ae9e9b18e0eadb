"""Settings, read once from the environment (XRAY_* variables) by pydantic-settings."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from model import threads
from model.zoo import CHECKPOINT_DIR, DEFAULT_MODEL


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="XRAY_", frozen=True)

    checkpoint_dir: Path = Field(CHECKPOINT_DIR, description="where the checkpoints (*.safetensors + json) are")
    default_model: str = Field(DEFAULT_MODEL, description="the model the pages open with")
    models: Annotated[tuple[str, ...], NoDecode] = Field(
        (), description="comma-separated models to serve: shipped ids and Hugging Face checkpoints as hf:<hub id> or "
                        "hf:<directory> (XRAY_MODELS=tiny-gpt,hf:gpt2,hf:/path/to/dir; docs/models.md); empty = "
                        "every checkpoint in checkpoint_dir")
    model_memory_gb: float = Field(8.0, gt=0, description="GiB of parameters of Hugging Face models kept loaded at "
                                                          "once; the least recently used are evicted beyond it")
    torch_threads: int = Field(threads.DEFAULT, ge=1, description="torch threads of every thread that runs a model "
                                                                  "(model/threads.py)")

    @field_validator("models", mode="before")
    @classmethod
    def _comma_separated(cls, value):
        if isinstance(value, str):
            return tuple(m.strip() for m in value.split(",") if m.strip())
        return value


@lru_cache
def get_settings() -> Settings:
    """The process's settings, read from the environment once."""
    return Settings()
