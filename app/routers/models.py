"""GET /api/v1/models and /api/v1/models/{id}: what is served, its configuration, module tree, activation
names with their dims, the forward pass as steps, the vocabulary (word-level models) and training record.
Nothing here runs the model's scoring: head labels have their own endpoint (app/routers/heads.py). The listing
reads configurations only: a Hugging Face model loads when a request first needs its weights."""
from __future__ import annotations

import re

from torch import nn

from app.deps import Models, PathModel
from app.routing import resource_router
from app.schemas import ModelDetail, ModelSummary, error_responses
from model.glossary import activation_names
from model.hooks import HookPoint, public_name
from model.registry import ModelInfo
from model.tokenizer import WordTokenizer
from model.zoo import LoadedModel

router = resource_router(tags=["models"])
_HOISTED = re.compile(r"^(stack|(encoder|decoder)\.blocks)$")  # containers whose name is not part of public paths


def module_tree(module: nn.Module, raw: str = "") -> dict:
    children = []
    for name, child in module.named_children():
        if isinstance(child, HookPoint):
            continue
        child_raw = f"{raw}.{name}" if raw else name
        node = module_tree(child, child_raw)
        children.extend(node["children"] if _HOISTED.match(child_raw) else [node])
    params = [{"name": n, "shape": list(p.shape), "numel": p.numel()} for n, p in module.named_parameters(recurse=False)]
    return {"path": public_name(raw), "type": type(module).__name__,
            "n_params": sum(p.numel() for p in module.parameters()), "params": params, "children": children}


def summary(m: LoadedModel | ModelInfo) -> dict:
    cfg = m.cfg
    n_params = m.n_params if isinstance(m, ModelInfo) else sum(p.numel() for p in m.model.parameters())
    return {"id": m.id, "arch": cfg.arch, "description": m.description,
            "config": {**cfg.to_dict(), "d_head": cfg.d_head}, "n_params": n_params, "vocab_size": cfg.vocab_size}


@router.get("/models", response_model=list[ModelSummary])
def list_models(models: Models):
    """Every served model, the default first (configurations only; nothing is loaded). A model whose
    configuration cannot be read is left out (its own URL says why)."""
    return [summary(info) for info in models.infos()]


@router.get("/models/{model_id:path}", response_model=ModelDetail, responses=error_responses(404))
def model_detail(loaded: PathModel):
    """One model: configuration, module tree with parameter counts and shapes, every activation name with its
    dims (in forward order), the forward pass as ordered steps (what the pages draw), the vocabulary of a
    word-level model (subword vocabularies are tens of thousands of tokens: null, the tokens of a text come with
    its trace) and the training record stored with the checkpoint. Head labels: GET /api/v1/models/{id}/heads."""
    meta = loaded.meta
    training = {k: v for k, v in meta.items() if k not in ("description", "metrics", "head_labels")}
    if isinstance(training.get("training"), dict):  # a nested training record is flattened into the rest
        training = {**training.pop("training"), **training}
    return {**summary(loaded), "architecture": module_tree(loaded.model),
            "activation_names": activation_names(loaded.model), "steps": loaded.model.steps(),
            "stages": loaded.model.stages(),
            "vocab": loaded.tokenizer.vocab if isinstance(loaded.tokenizer, WordTokenizer) else None,
            "training": training, "metrics": meta.get("metrics")}
