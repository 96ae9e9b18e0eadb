"""Hugging Face checkpoints -> the core (model/transformer.py), one file per family.

Each family module has MODEL_TYPES (the `model_type` values of config.json it reads), PREFIXES (the prefixes
its model classes put before the weight names), `config(hf_config) -> ModelConfig` and
`weights(cfg, Weights) -> state dict of the core`. A feature the core does not implement raises `Unsupported`
naming it, never a silently different model. Family modules are imported on first use, so that the app runs
without the hf extra (einops) when it serves only its own checkpoints.
"""
from __future__ import annotations

import importlib
from types import ModuleType

from .common import Unsupported, Weights

# model_type (config.json) -> family module
FAMILIES: dict[str, str] = {"gpt2": "gpt2", "gpt_neox": "neox", "llama": "llama", "qwen2": "llama",
                            "mistral": "llama", "bert": "bert", "marian": "marian"}
NAMES = "GPT-2, GPT-NeoX/Pythia, Llama/Qwen2/SmolLM/Mistral, BERT, Marian"


def supported() -> list[str]:
    """The model_type values that load (config.json's "model_type")."""
    return sorted(FAMILIES)


def check(model_type: str | None) -> None:
    """Raise Unsupported, naming what is, unless config.json's model_type has a converter (imports nothing)."""
    if model_type not in FAMILIES:
        raise Unsupported(f"model_type {model_type!r} is not supported; supported families: "
                          f"{', '.join(supported())} ({NAMES})")


def family(model_type: str | None) -> ModuleType:
    check(model_type)
    try:
        return importlib.import_module(f"{__name__}.{FAMILIES[model_type]}")
    except ImportError as e:
        raise RuntimeError(f"loading {model_type} checkpoints needs the hf extra: pip install -e \".[hf]\" "
                           f"({e})") from e


__all__ = ["FAMILIES", "Unsupported", "Weights", "check", "family", "supported"]
