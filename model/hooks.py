"""Named capture points and per-call activation caching.

Every intermediate the model computes passes through a `HookPoint`, an identity module that knows its
TransformerLens-style name. `run_with_cache` turns capture on for one call only: the cache lives in a
`contextvars.ContextVar`, so two threads (two HTTP requests) tracing the same model at the same time each
get their own activations, and nothing is ever stored on the modules.
"""
from __future__ import annotations

import contextvars
import fnmatch
import re
import threading
import weakref
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

import torch
from torch import nn

# The cache of the call in progress in this thread/task, or None when nothing is being captured.
_ACTIVE: contextvars.ContextVar["_Capture | None"] = contextvars.ContextVar("xray_capture", default=None)


class StopForward(Exception):
    """Raised by a HookPoint once every expected activation is captured (`capturing(..., expected=n)`), so the
    rest of the forward pass (later blocks, the unembedding) is skipped."""


class CaptureTooLarge(Exception):
    """Raised by a HookPoint when the captured values exceed `capturing(..., max_values=n)`: the forward stops
    there instead of holding activations that would be refused anyway."""

    def __init__(self, values: int, max_values: int):
        super().__init__(f"captured {values:,} values, over the limit of {max_values:,}")
        self.values, self.max_values = values, max_values


class _Capture:
    def __init__(self, wanted: Callable[[str], bool], expected: int | None = None, max_values: int | None = None,
                 keep: Callable[[str, torch.Tensor], torch.Tensor] | None = None,
                 taps: dict[str, Callable[[torch.Tensor], None]] | None = None, stop_after: str | None = None):
        self.wanted = wanted
        self.expected = expected  # stop the forward once this many distinct names are stored (None: never)
        self.max_values = max_values  # raise CaptureTooLarge beyond this many stored values (None: no limit)
        self.keep = keep  # (name, tensor) -> the part of it to store (e.g. some heads); None: all of it
        self.taps = taps or {}  # name -> called with the tensor whether or not it is wanted (not stored, not counted)
        self.stop_after = stop_after  # stop the forward once this hook has run (None: only via `expected`)
        self.values = 0
        self.store: dict[str, torch.Tensor] = {}


@dataclass(frozen=True)
class HookSpec:
    """What a component declares about one of its capture points: the dims of the captured tensor (batch
    dropped), a short title for the step, and one sentence on what it holds. The glossary, the model's list of
    steps and the shapes of a trace are all read from these declarations."""
    dims: tuple[str, ...]
    title: str
    description: str

    def with_dims(self, *dims: str) -> "HookSpec":
        return HookSpec(tuple(dims), self.title, self.description)


class HookPoint(nn.Module):
    """Identity module. When a capture is active and wants this name, the tensor is recorded (detached)."""

    def __init__(self, spec: HookSpec | None = None) -> None:
        super().__init__()
        self.name = ""  # filled in by `assign_hook_names` once the model tree is built
        self.spec = spec  # declared by the component that owns it (see `add_hooks`)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        capture = _ACTIVE.get()
        if capture is None:
            return x
        if capture.taps:  # before a StopForward below, so the tensor of the last hook that runs is tapped too
            tap = capture.taps.get(self.name)
            if tap is not None:
                tap(x.detach())
        if capture.wanted(self.name):
            kept = x.detach() if capture.keep is None else capture.keep(self.name, x.detach())
            capture.store[self.name] = kept
            if capture.max_values is not None:
                capture.values += kept.numel()
                if capture.values > capture.max_values:
                    raise CaptureTooLarge(capture.values, capture.max_values)
            if capture.expected is not None and len(capture.store) >= capture.expected:
                raise StopForward(self.name)
        if self.name == capture.stop_after:
            raise StopForward(self.name)
        return x


def public_name(path: str) -> str:
    """A module path inside the model -> the public name used by activations, weights and the module tree:
    the containers `stack.` (decoder-only) and `encoder.blocks.` / `decoder.blocks.` are left out, so
    stack.blocks.0.attn.hook_q -> blocks.0.attn.hook_q and encoder.blocks.1.attn.W_Q -> encoder.1.attn.W_Q."""
    return re.sub(r"^(encoder|decoder)\.blocks\.", r"\1.", path.removeprefix("stack."))


def add_hooks(module: nn.Module, specs: dict[str, HookSpec]) -> None:
    """Register one HookPoint per declared spec on `module`, as attributes named by the spec's key."""
    for leaf, spec in specs.items():
        setattr(module, leaf, HookPoint(spec))


def assign_hook_names(root: nn.Module, rename: Callable[[str], str] = lambda s: s) -> list[str]:
    """Give every HookPoint under `root` its dotted module path (optionally rewritten); return the names in
    registration order (`forward_order` gives the order of the forward pass)."""
    names = []
    for path, module in root.named_modules():
        if isinstance(module, HookPoint):
            module.name = rename(path)
            names.append(module.name)
    return names


def name_filter(names: Iterable[str] | str | Callable[[str], bool] | None) -> Callable[[str], bool]:
    """None → everything; a callable → itself; a glob or list of globs (fnmatch: `*`, `?`, `[...]`)."""
    if names is None:
        return lambda _n: True
    if callable(names):
        return names
    patterns = [names] if isinstance(names, str) else list(names)
    exact = {p for p in patterns if not any(c in p for c in "*?[")}
    globs = [p for p in patterns if p not in exact]
    return lambda n: n in exact or any(fnmatch.fnmatchcase(n, g) for g in globs)


@contextmanager
def capturing(names=None, expected: int | None = None, max_values: int | None = None,
              keep: Callable[[str, torch.Tensor], torch.Tensor] | None = None,
              taps: dict[str, Callable[[torch.Tensor], None]] | None = None, stop_after: str | None = None
              ) -> Iterator[dict[str, torch.Tensor]]:
    """Capture activations of every forward pass run inside the `with` block (in this context only). With
    `expected`, the HookPoint that stores the expected-th distinct name raises `StopForward`; with `max_values`,
    the one that takes the stored values over it raises `CaptureTooLarge`. `keep(name, tensor)` chooses what is
    stored of a wanted tensor (the values counted are those kept); `taps` maps names to callbacks that see the
    (detached) tensor as it passes, wanted or not, without storing it. `stop_after`: the hook named so raises
    `StopForward` once it has run."""
    capture = _Capture(name_filter(names), expected, max_values, keep, taps, stop_after)
    token = _ACTIVE.set(capture)
    try:
        yield capture.store
    finally:
        _ACTIVE.reset(token)


def is_capturing(name: str) -> bool:
    """True when the call in progress wants `name` (lets the model skip work done only for display)."""
    capture = _ACTIVE.get()
    return capture is not None and capture.wanted(name)


_ORDER: "weakref.WeakKeyDictionary[nn.Module, list[str]]" = weakref.WeakKeyDictionary()
_ORDER_LOCK = threading.Lock()


def forward_order(model: nn.Module) -> list[str]:
    """Every hook name of `model` in the order a forward pass reaches it, from a traced run on two tokens (capture
    order), not from the order the modules were registered (which puts e.g. `hook_logits`, registered on the root,
    first). Computed once per model. The model must expose `cfg` (vocab_size, pad_id) and `arch`."""
    with _ORDER_LOCK:
        names = _ORDER.get(model)
    if names is not None:
        return names
    cfg = model.cfg
    tokens = torch.full((1, 2), (cfg.pad_id + 1) % cfg.vocab_size)  # not padding, so no row is fully masked
    with torch.inference_mode(), capturing() as store:
        model(tokens, tokens) if model.arch == "encoder_decoder" else model(tokens)
    names = list(store)  # a dict keeps the order of first insertion, i.e. of the forward pass
    registered = [m.name for m in model.modules() if isinstance(m, HookPoint)]
    if sorted(names) != sorted(registered):
        raise RuntimeError(f"hooks that the forward pass did not reach: {sorted(set(registered) - set(names))}")
    with _ORDER_LOCK:
        _ORDER[model] = names
    return names
