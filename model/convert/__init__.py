"""Hugging Face checkpoints -> the core (model/transformer.py), one file per family.

Each family module has MODEL_TYPES (the `model_type` values of config.json it reads), PREFIXES (the prefixes
its model classes put before the weight names), `config(hf_config) -> ModelConfig` and
`weights(cfg, Weights) -> state dict of the core`. A feature the core does not implement raises `Unsupported`
naming it, never a silently different model.
"""
from __future__ import annotations

from types import ModuleType

from . import bert, gpt2, llama, marian, neox
from .common import Unsupported, Weights

FAMILY_MODULES: tuple[ModuleType, ...] = (gpt2, neox, llama, bert, marian)
FAMILIES: dict[str, ModuleType] = {t: m for m in FAMILY_MODULES for t in m.MODEL_TYPES}


def supported() -> list[str]:
    """The model_type values that load (config.json's "model_type")."""
    return sorted(FAMILIES)


def family(model_type: str | None) -> ModuleType:
    if model_type not in FAMILIES:
        raise Unsupported(f"model_type {model_type!r} is not supported; supported families: "
                          f"{', '.join(supported())} (GPT-2, GPT-NeoX/Pythia, Llama/Qwen2/SmolLM/Mistral, BERT, "
                          "Marian)")
    return FAMILIES[model_type]


__all__ = ["FAMILIES", "Unsupported", "Weights", "family", "supported"]
