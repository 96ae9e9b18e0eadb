"""What every converter shares: a view of a Hugging Face state dict that finds a tensor under any of the
prefixes its model classes use, and the errors that say what is not supported."""
from __future__ import annotations

from typing import Callable, Iterable, Mapping

import torch


class Unsupported(ValueError):
    """A checkpoint uses a feature the core does not implement; the message names it."""


class Weights:
    """`w["h.0.ln_1.weight"]`: the float32 tensor stored under that name after any of `prefixes` ("" included),
    e.g. "transformer." for GPT2LMHeadModel, nothing for GPT2Model. `aliases` rewrites the tail of old names
    (BERT's LayerNorm.gamma -> LayerNorm.weight)."""

    def __init__(self, keys: Iterable[str], get: Callable[[str], torch.Tensor], prefixes: Iterable[str] = ("",),
                 aliases: Mapping[str, str] | None = None):
        self._get = get
        self._names: dict[str, str] = {}
        prefixes = sorted(set(prefixes) | {""}, key=len, reverse=True)
        for key in keys:
            name = key
            for old, new in (aliases or {}).items():
                if name.endswith(old):
                    name = name[: -len(old)] + new
            for p in prefixes:
                if p and name.startswith(p):
                    name = name[len(p):]
                    break
            self._names.setdefault(name, key)

    def __contains__(self, name: str) -> bool:
        return name in self._names

    def __getitem__(self, name: str) -> torch.Tensor:
        if name not in self._names:
            raise KeyError(f"the checkpoint has no tensor {name!r}")
        return self._get(self._names[name]).float()

    def get(self, name: str) -> torch.Tensor | None:
        return self[name] if name in self else None

    def names(self) -> list[str]:
        return list(self._names)


def attr(hf, *names, default=None):
    """The first of `names` the Hugging Face config has (configs renamed fields across versions)."""
    for n in names:
        v = getattr(hf, n, None)
        if v is not None:
            return v
    return default


def rope_params(hf) -> dict:
    """(rope_type, theta, partial factor) from `rope_parameters` (transformers 5) or the older fields."""
    params = dict(getattr(hf, "rope_parameters", None) or {})
    legacy = getattr(hf, "rope_scaling", None) or {}
    rope_type = params.get("rope_type") or legacy.get("rope_type") or legacy.get("type") or "default"
    theta = params.get("rope_theta", attr(hf, "rope_theta", "rotary_emb_base", default=10000.0))
    partial = params.get("partial_rotary_factor", attr(hf, "partial_rotary_factor", "rotary_pct", default=1.0))
    return {"rope_type": rope_type, "theta": float(theta), "partial": float(partial)}


def rotary_fields(hf, d_head: int) -> dict:
    """ModelConfig fields of a checkpoint's rotary embedding: theta, the rotated dims, and its scaling (default,
    linear, Llama 3's); other scalings (dynamic, yarn, longrope, ...) are refused by name."""
    params = dict(getattr(hf, "rope_parameters", None) or {})
    params.update({k: v for k, v in (getattr(hf, "rope_scaling", None) or {}).items() if k not in params})
    rope = rope_params(hf)
    kind = rope["rope_type"]
    require(kind in ("default", "linear", "llama3"), f"rope_type {kind!r} (supported: default, linear, llama3)")
    out = {"pos_embed": "rotary", "rotary_base": rope["theta"], "rotary_dim": int(d_head * rope["partial"]),
           "rope_scaling": kind}
    if kind != "default":
        out["rope_factor"] = float(params["factor"])
    if kind == "llama3":
        out.update(rope_low_freq_factor=float(params["low_freq_factor"]),
                   rope_high_freq_factor=float(params["high_freq_factor"]),
                   rope_original_ctx=int(params.get("original_max_position_embeddings")
                                         or hf.max_position_embeddings))
    return out


def require(condition: bool, what: str) -> None:
    if not condition:
        raise Unsupported(what)


def act_fn(name: str, gated: bool = False) -> str:
    """A Hugging Face activation name -> the core's act_fn."""
    exact = {"gelu": "gelu", "gelu_python": "gelu"}
    tanh = {"gelu_new", "gelu_pytorch_tanh", "gelu_fast", "gelu_accurate"}
    if gated:
        require(name in ("silu", "swish"), f"gated activation {name!r} (only SwiGLU: silu gate)")
        return "swiglu"
    if name in exact:
        return exact[name]
    if name in tanh:
        return "gelu_new"
    if name in ("silu", "swish"):
        return "silu"
    if name == "relu":
        return "relu"
    raise Unsupported(f"activation {name!r} (supported: relu, gelu, gelu_new / gelu_pytorch_tanh, silu / swish)")
