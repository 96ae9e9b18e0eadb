"""Training timeline: the snapshots `model/train.py` keeps along training (`<checkpoints>/timeline/<model>/
step-XXXXX.{safetensors,json}`), the training loss near each kept step, and one attention layer of every
snapshot on the same input.

Snapshots are found by listing the folder and matching the exact file-name pattern; a request names a step
(an int), never a path, so nothing outside the timeline folder can be read. Loaded snapshots sit in a small
LRU cache guarded by a lock (two requests for the same step load it once).
"""
from __future__ import annotations

import re
import threading
from collections import OrderedDict
from pathlib import Path

import torch

from . import zoo
from .transformer import run_with_cache

_STEP_FILE = re.compile(r"^step-(\d{5})\.json$")
MAX_CACHED = 16  # snapshots kept in memory: every one a model keeps (tiny-gpt 8, english-gpt 11; 0.1-0.9 M parameters each)


def timeline_dir(checkpoint_dir: Path, model_id: str) -> Path:
    """`<checkpoint_dir>/timeline/<model_id>`; the id must be a valid zoo id (no separators, no '..')."""
    zoo.checkpoint_paths(model_id, checkpoint_dir)  # raises KeyError for an invalid id
    return checkpoint_dir / "timeline" / model_id


def snapshot_id(step: int) -> str:
    return f"step-{step:05d}"


def list_steps(directory: Path) -> list[int]:
    """Training steps with a complete snapshot (json + safetensors) in `directory`, ascending."""
    if not directory.is_dir():
        return []
    steps = []
    for p in directory.iterdir():
        m = _STEP_FILE.match(p.name)
        if m and p.with_suffix(".safetensors").is_file():
            steps.append(int(m.group(1)))
    return sorted(steps)


def loss_near(losses: list[list[float]], step: int) -> tuple[int, float] | None:
    """The recorded training loss whose step is closest to `step` (ties -> the earlier one).
    `losses` is the checkpoint's [[step, mean loss over the preceding window], ...]."""
    if not losses:
        return None
    s, loss = min(losses, key=lambda sl: (abs(sl[0] - step), sl[0]))
    return int(s), float(loss)


class SnapshotCache:
    """Thread-safe LRU of loaded snapshots of one model's timeline."""

    def __init__(self, directory: Path, capacity: int = MAX_CACHED):
        self.directory = directory
        self.capacity = capacity
        self._items: OrderedDict[int, zoo.LoadedModel] = OrderedDict()
        self._lock = threading.Lock()
        self.loads = 0  # how many times a snapshot was read from disk (tests check the cache works)

    def steps(self) -> list[int]:
        return list_steps(self.directory)

    def get(self, step: int) -> zoo.LoadedModel:
        if not isinstance(step, int) or step not in self.steps():
            raise KeyError(step)
        with self._lock:
            if step in self._items:
                self._items.move_to_end(step)
                return self._items[step]
            loaded = zoo.load(snapshot_id(step), self.directory)
            self.loads += 1
            self._items[step] = loaded
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)
            return loaded


def layer_name(loaded: zoo.LoadedModel, layer: int) -> str:
    """The self-attention pattern of `layer` (decoder side for an encoder-decoder)."""
    if not 0 <= layer < loaded.cfg.n_layers:
        raise ValueError(f"layer must be in 0..{loaded.cfg.n_layers - 1}, got {layer}")
    prefix = "decoder" if loaded.is_encoder_decoder else "blocks"
    return f"{prefix}.{layer}.attn.hook_pattern"


def patterns(cache: SnapshotCache, steps: list[int], tokens: torch.Tensor, layer: int) -> list[torch.Tensor]:
    """[head, query_pos, key_pos] of `layer` for each snapshot in `steps`, on the same decoder-only input."""
    out = []
    for step in steps:
        snap = cache.get(step)
        name = layer_name(snap, layer)
        _, acts = run_with_cache(snap.model, tokens, names=[name])
        out.append(acts[name])
    return out
