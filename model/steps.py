"""The forward pass as the pages draw it: one step per capture point, in the order the forward pass reaches them,
each with what its component declares about it, and the stages (parts) of the pass they belong to.

Nothing here knows an architecture. Every component declares its own capture points (`HookSpec`: dims, short
title, glossary sentence) and, through `step_info(leaf)`, the step a page shows for each: a title and a sentence
with this instance's numbers, and, where it applies,
  with:      other capture points of the same component drawn in the same step (K and V with Q; a norm's
             statistics with its normalized value),
  part_of:   for those, the step that draws them (a page shows no step of its own for them),
  views:     further steps drawn from the same activation: [{title, text, merge: [dim, dim]}], the two dims
             flattened into one (hook_z with its heads concatenated),
  positions: the token sequence a position dim runs over, where it is not the stage's (cross-attention's keys
             are the source),
  attention: for attention modules: {id, label} of the family of layers it belongs to, its mask, window and
             numbers of query and key/value heads.
A module that starts a stage declares `stage` (see `stage()`): a block, the input of each stack (embeddings),
the encoder's output, the model's output; every capture point belongs to the nearest enclosing one.
"""
from __future__ import annotations

from torch import nn

from .hooks import HookPoint, forward_order, public_name

POSITION_DIMS = ("pos", "query_pos", "key_pos")


def stage(sid: str, title: str, side: str, reads_tokens: bool = False) -> dict:
    """The declaration of a stage: its id (also its place in names, e.g. blocks.3), title, the token sequence its
    positions run over (side: "source" = the trace's `tokens`, "target" = its `target_tokens`) and whether it
    reads the token ids (the input of a stack)."""
    return {"id": sid, "title": title, "side": side, "reads_tokens": reads_tokens}


def _declarer(owner: str, modules: dict[str, nn.Module]) -> str:
    """The raw path of the nearest module at or above `owner` that declares a stage."""
    path = owner
    while True:
        if hasattr(modules[path], "stage"):
            return path
        if not path:
            raise RuntimeError(f"no module above {owner!r} declares a stage")
        path = path.rsplit(".", 1)[0] if "." in path else ""


def _whole(path: str, modules: dict[str, nn.Module]) -> bool:
    """True when the module at `path` and everything under it belong to its own stage (no nested stage)."""
    if not path:
        return False
    return not any(p.startswith(path + ".") and hasattr(m, "stage") for p, m in modules.items())


def _glob(hook_raw: str, owner: str, declarer: str, whole: bool) -> str:
    """The `names` glob that fetches this capture point with the rest of its stage: the stage's module when the
    stage is one module (blocks.3.*, ln_final.*), else the capture point itself or its top module in the stage."""
    if whole:
        return public_name(declarer) + ".*"
    if owner == declarer:
        return public_name(hook_raw)
    rest = owner[len(declarer) + 1:] if declarer else owner
    child = f"{declarer}.{rest.split('.')[0]}" if declarer else rest.split(".")[0]
    return public_name(child) + ".*"


def describe_steps(model: nn.Module) -> tuple[list[dict], list[dict]]:
    """(steps, stages) of a built model, computed once per model. A step: {name, hook, dims, description,
    component, kind, extra} (the declaration), {title, text, stage, layer, positions, with, part_of, views,
    attention} (the drawing). A stage: {id, title, side, reads_tokens, names}."""
    cached = getattr(model, "_described", None)
    if cached is None:
        cached = _describe(model)
        model._described = cached
    return cached


def _describe(model: nn.Module) -> tuple[list[dict], list[dict]]:
    from .glossary import is_extra  # the glossary reads the components' declarations, which import this module
    modules = dict(model.named_modules())
    raw_of = {m.name: path for path, m in modules.items() if isinstance(m, HookPoint)}
    whole = {p: _whole(p, modules) for p, m in modules.items() if hasattr(m, "stage")}
    steps, stages = [], {}
    for hook in forward_order(model):
        raw = raw_of[hook]
        owner, leaf = raw.rsplit(".", 1) if "." in raw else ("", raw)
        module, spec = modules[owner], modules[raw].spec
        declarer = _declarer(owner, modules)
        st = modules[declarer].stage
        entry = stages.setdefault(st["id"], {**st, "names": []})
        glob = _glob(raw, owner, declarer, whole[declarer])
        if glob not in entry["names"]:
            entry["names"].append(glob)
        info = module.step_info(leaf) if hasattr(module, "step_info") else {}
        prefix = hook[: -len(leaf)]
        positions = {d: st["side"] for d in spec.dims if d in POSITION_DIMS}
        positions.update({d: s for d, s in info.get("positions", {}).items() if d in positions})
        block = modules[declarer]
        steps.append({
            "name": spec.title, "hook": hook, "dims": list(spec.dims), "description": spec.description,
            "component": hook.rsplit(".", 1)[0] if "." in hook else "", "kind": getattr(module, "kind", type(module).__name__.lower()),
            "extra": is_extra(hook),
            "title": info.get("title", spec.title[0].upper() + spec.title[1:]),
            "text": info.get("text", spec.description[0].upper() + spec.description[1:] + "."),
            "stage": st["id"], "layer": getattr(block, "index", None) if declarer != "" else None,
            "positions": positions,
            "with": [prefix + w for w in info.get("with", [])],
            "part_of": prefix + info["part_of"] if info.get("part_of") else None,
            "views": info.get("views", []),
            "attention": info.get("attention"),
        })
    return steps, list(stages.values())
