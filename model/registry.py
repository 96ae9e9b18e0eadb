"""Which models the app serves, loaded on first use under a memory budget.

`XRAY_MODELS=tiny-gpt,hf:gpt2,hf:/path/to/dir`: a plain id is a shipped checkpoint (model/zoo.py); `hf:` + a
hub id or a directory is a Hugging Face checkpoint (model/hub.py), whose API id is the hub id or the
directory's name. An empty list means every shipped checkpoint. Specs are checked when the registry is made
(a shipped id that does not exist, a directory without config.json, a family that is not supported, a hub id
that is neither cached nor downloadable) and each problem is kept as a message that says what to do; nothing
is loaded then. A model loads on first use (`registry[id]`, `registry.model(id)`): shipped models stay loaded (they are small), Hugging Face models
are evicted least recently used first when their parameters would exceed the memory budget. Thread-safe: two
requests for a model that is loading wait for the same load.
"""
from __future__ import annotations

import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from . import convert, hub, zoo
from .config import ModelConfig
from .param_count import count
from .zoo import LoadedModel

log = logging.getLogger(__name__)
DEFAULT_BUDGET = 8 * 2**30  # bytes of parameters of Hugging Face models kept loaded at once


class ModelUnavailable(KeyError):
    """A model id that is unknown, or known but not loadable here; `message` says what to do. A KeyError, so the
    registry behaves as a Mapping."""

    def __init__(self, model_id: str, message: str, known: bool):
        super().__init__(message)
        self.model_id, self.message, self.known = model_id, message, known

    def __str__(self) -> str:
        return self.message


@dataclass
class Spec:
    id: str  # the API id
    spec: str  # as written in XRAY_MODELS
    kind: str  # "shipped" or "huggingface"
    ref: str  # the zoo id, or what follows "hf:"


def parse(specs: str | list[str] | tuple[str, ...]) -> list[Spec]:
    """'tiny-gpt, hf:gpt2 ,hf:/models/x' -> Specs (blanks ignored; an id given twice is refused)."""
    items = specs.split(",") if isinstance(specs, str) else list(specs)
    out: list[Spec] = []
    for raw in (s.strip() for s in items):
        if not raw:
            continue
        if raw.startswith(hub.HF_PREFIX):
            ref = raw[len(hub.HF_PREFIX):].strip()
            if not ref:
                raise ValueError(f"{raw!r}: write hf:<hub id> (hf:gpt2) or hf:<directory> (hf:/path/to/dir)")
            out.append(Spec(hub.model_id(ref), raw, "huggingface", ref))
        else:
            out.append(Spec(raw, raw, "shipped", raw))
    ids = [s.id for s in out]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise ValueError(f"XRAY_MODELS names {', '.join(dupes)} more than once")
    return out


@dataclass(frozen=True)
class ModelInfo:
    """What a listing shows of a model without loading its weights."""
    id: str
    cfg: ModelConfig
    description: str
    n_params: int
    kind: str  # "shipped" or "huggingface"


def param_bytes(loaded: LoadedModel) -> int:
    return sum(p.numel() * p.element_size() for p in loaded.model.parameters())


class ModelRegistry(Mapping):
    """A read-only Mapping id -> LoadedModel over the servable ids (those without a problem): `registry[id]` loads
    on first use; `id in registry` and iteration load nothing; `info(id)` reads a model's config only."""

    def __init__(self, specs: str | list[str] | tuple[str, ...] = "", checkpoint_dir: Path = zoo.CHECKPOINT_DIR,
                 budget_bytes: int = DEFAULT_BUDGET, allow_download: bool | None = None,
                 loader: Callable[[Spec], LoadedModel] | None = None):
        self.checkpoint_dir = Path(checkpoint_dir)
        self.budget = budget_bytes
        self.allow_download = allow_download
        parsed = parse(specs)
        if not parsed:
            parsed = [Spec(i, i, "shipped", i) for i in zoo.available(self.checkpoint_dir)]
        self.specs: dict[str, Spec] = {s.id: s for s in parsed}
        self.problems: dict[str, str] = {}  # id -> why it cannot be loaded (checked without loading)
        for s in parsed:
            msg = self._check(s)
            if msg:
                self.problems[s.id] = msg
                log.warning("model %s: %s", s.id, msg)
        self._load = loader or self._load_spec
        self._lock = threading.Lock()
        self._loading: dict[str, threading.Lock] = {}
        self._loaded: OrderedDict[str, LoadedModel] = OrderedDict()  # least recently used first
        self._info: dict[str, ModelInfo] = {}

    # --- checks without loading ---------------------------------------------------------------------------------
    def _check(self, s: Spec) -> str | None:
        if s.kind == "shipped":
            try:
                weights, meta = zoo.checkpoint_paths(s.ref, self.checkpoint_dir)
            except KeyError:
                weights = meta = None
            if weights is None or not weights.exists() or not meta.exists():
                return (f"no shipped checkpoint {s.ref!r} in {self.checkpoint_dir} (shipped: "
                        f"{', '.join(zoo.available(self.checkpoint_dir)) or 'none'}); for a Hugging Face model "
                        f"write hf:{s.ref}")
            return None
        try:
            path = hub.resolve(s.ref, allow_download=False) if not self.allow_download else None
        except hub.ModelNotFound as e:
            if hub.is_path(s.ref) or self.allow_download is False or hub.offline():
                return str(e)
            return None  # not cached, but the first use may download it
        if path is not None:
            try:
                convert.check(hub.read_model_type(path))
            except (convert.Unsupported, json.JSONDecodeError) as e:
                return f"{path}: {e}"
        return None

    # --- access ---------------------------------------------------------------------------------------------------
    @property
    def ids(self) -> list[str]:
        """Every configured id that has no known problem, in the order given (shipped default first when the
        list is the shipped zoo)."""
        return [i for i in self.specs if i not in self.problems]

    def is_loaded(self, model_id: str) -> bool:
        with self._lock:
            return model_id in self._loaded

    def loaded(self) -> dict[str, LoadedModel]:
        with self._lock:
            return dict(self._loaded)

    def __getitem__(self, model_id: str) -> LoadedModel:
        return self.model(model_id)

    def __iter__(self):
        return iter(self.ids)

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, model_id) -> bool:
        return model_id in self.specs and model_id not in self.problems

    def preload(self, kind: str = "shipped") -> None:
        """Load every servable model of this kind now (the shipped ones are small: the first request is then as
        fast as the next)."""
        for i in self.ids:
            if self.specs[i].kind == kind:
                self.model(i)

    def model(self, model_id: str) -> LoadedModel:
        """The model, loaded now if it is not yet; raises ModelUnavailable with a message that says what to do."""
        spec = self.specs.get(model_id)
        if spec is None:
            raise ModelUnavailable(model_id, f"unknown model {model_id!r}; available models: "
                                             f"{', '.join(self.ids) or '(none)'}", known=False)
        if model_id in self.problems:
            raise ModelUnavailable(model_id, f"model {model_id!r} cannot be loaded: {self.problems[model_id]}",
                                   known=True)
        with self._lock:
            if model_id in self._loaded:
                self._loaded.move_to_end(model_id)
                return self._loaded[model_id]
            gate = self._loading.setdefault(model_id, threading.Lock())
        with gate:  # one load per model; later callers wait for it and then find it loaded
            with self._lock:
                if model_id in self._loaded:
                    self._loaded.move_to_end(model_id)
                    return self._loaded[model_id]
            try:
                loaded = self._load(spec)
            except (hub.ModelNotFound, convert.Unsupported, FileNotFoundError, RuntimeError, OSError) as e:
                raise ModelUnavailable(model_id, f"model {model_id!r} could not be loaded: {e}", known=True) from e
            with self._lock:
                if spec.kind == "huggingface":
                    self._make_room(param_bytes(loaded), model_id)
                self._loaded[model_id] = loaded
        return loaded

    def info(self, model_id: str) -> ModelInfo:
        """Configuration, description and parameter count, from the checkpoint's config alone (the weights are
        not read); raises ModelUnavailable as `get` does."""
        with self._lock:
            if model_id in self._info:
                return self._info[model_id]
            loaded = self._loaded.get(model_id)
        spec = self.specs.get(model_id)
        if spec is None or model_id in self.problems:
            self.model(model_id)  # raises the right ModelUnavailable
        if loaded is not None:
            info = ModelInfo(model_id, loaded.cfg, loaded.description,
                             sum(p.numel() for p in loaded.model.parameters()), spec.kind)
        elif spec.kind == "shipped":
            meta = json.loads(zoo.checkpoint_paths(spec.ref, self.checkpoint_dir)[1].read_text())
            cfg = ModelConfig.from_dict(meta["config"])
            info = ModelInfo(model_id, cfg, meta.get("description", ""), count(cfg)["total"], spec.kind)
        else:
            try:
                path = hub.resolve_config(spec.ref, self.allow_download)
                fam = convert.family(hub.read_model_type(path))
                cfg = fam.config(hub.hf_config(path))
            except (hub.ModelNotFound, convert.Unsupported, RuntimeError, OSError) as e:
                raise ModelUnavailable(model_id, f"model {model_id!r} could not be read: {e}", known=True) from e
            info = ModelInfo(model_id, cfg, hub.describe(model_id, path, cfg), count(cfg)["total"], spec.kind)
        with self._lock:
            self._info[model_id] = info
        return info

    def infos(self) -> list[ModelInfo]:
        """`info` of every served model, in order, leaving out a model whose configuration cannot be read (its
        own URL says why): what the model listing and the pages' model menus show."""
        out = []
        for model_id in self.ids:
            try:
                out.append(self.info(model_id))
            except ModelUnavailable:
                continue
        return out

    def _make_room(self, need: int, model_id: str) -> None:
        """Evict loaded Hugging Face models, least recently used first, until `need` more bytes fit the budget
        (caller holds the lock). A model larger than the whole budget is refused."""
        if need > self.budget:
            raise ModelUnavailable(model_id, f"model {model_id!r} has {need / 2**30:.2f} GiB of parameters, over "
                                             f"the memory budget of {self.budget / 2**30:.2f} GiB "
                                             "(XRAY_MODEL_MEMORY_GB raises it)", known=True)
        hf = [i for i in self._loaded if self.specs[i].kind == "huggingface"]
        used = sum(param_bytes(self._loaded[i]) for i in hf)
        for victim in hf:
            if used + need <= self.budget:
                break
            used -= param_bytes(self._loaded.pop(victim))
            log.info("evicted %s to make room for %s", victim, model_id)

    def _load_spec(self, spec: Spec) -> LoadedModel:
        if spec.kind == "shipped":
            return zoo.load(spec.ref, self.checkpoint_dir)
        return hub.load(spec.ref, allow_download=self.allow_download)
