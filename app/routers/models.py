"""GET /api/v1/models and /api/v1/models/{id}: what is loaded, its configuration, module tree, activation
names with their dims, vocabulary and training record."""
from __future__ import annotations

import re

from fastapi import APIRouter, Depends, Request
from torch import nn

from app.deps import get_models
from app.errors import handled
from app.inputs import get_model
from app.routers.heads import cached_scores
from app.schemas import ModelDetail, ModelSummary, error_responses
from model.glossary import activation_names
from model.hooks import HookPoint
from model.zoo import LoadedModel

router = APIRouter(prefix="/api/v1", tags=["models"])
_HOISTED = re.compile(r"^(stack|(encoder|decoder)\.blocks)$")  # containers whose name is not part of public paths


def public_path(raw: str) -> str:
    """Module path -> the prefix used by activation names: stack.blocks.0 -> blocks.0, encoder.blocks.1 -> encoder.1."""
    return re.sub(r"^(encoder|decoder)\.blocks\.", r"\1.", raw.removeprefix("stack."))


def module_tree(module: nn.Module, raw: str = "") -> dict:
    children = []
    for name, child in module.named_children():
        if isinstance(child, HookPoint):
            continue
        child_raw = f"{raw}.{name}" if raw else name
        node = module_tree(child, child_raw)
        children.extend(node["children"] if _HOISTED.match(child_raw) else [node])
    params = [{"name": n, "shape": list(p.shape), "numel": p.numel()} for n, p in module.named_parameters(recurse=False)]
    return {"path": public_path(raw), "type": type(module).__name__,
            "n_params": sum(p.numel() for p in module.parameters()), "params": params, "children": children}


def summary(loaded: LoadedModel) -> dict:
    cfg = loaded.cfg
    return {"id": loaded.id, "arch": cfg.arch, "description": loaded.description,
            "config": {**cfg.to_dict(), "d_head": cfg.d_head},
            "n_params": sum(p.numel() for p in loaded.model.parameters()), "vocab_size": cfg.vocab_size}


@router.get("/models", response_model=list[ModelSummary])
def list_models(models=Depends(get_models)):
    """Every loaded model, the default first."""
    return [summary(m) for m in models.values()]


@router.get("/models/{model_id}", response_model=ModelDetail, responses=error_responses(404))
@handled
def model_detail(model_id: str, request: Request, models=Depends(get_models)):
    """One model: configuration, module tree with parameter counts and shapes, every activation name with its
    dims (in module order), the vocabulary, the training record stored with the checkpoint, and the label of
    every attention head (model/heads.py, computed from the model's patterns on first request)."""
    loaded = get_model(models, model_id)
    meta = loaded.meta
    training = {k: v for k, v in meta.items() if k not in ("description", "metrics", "head_labels")}
    if isinstance(training.get("training"), dict):  # a nested training record is flattened into the rest
        training = {**training.pop("training"), **training}
    return {**summary(loaded), "architecture": module_tree(loaded.model),
            "activation_names": activation_names(loaded.model), "vocab": loaded.tokenizer.vocab,
            "training": training, "metrics": meta.get("metrics"), "head_labels": cached_scores(request, loaded)}
