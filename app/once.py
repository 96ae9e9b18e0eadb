"""Values an app computes at most once per key, on first use: head scores per model, a model's snapshot cache.

The one lazy-initialisation pattern of the app (created in `create_app`, kept on `app.state.once`): concurrent
first requests for a key wait for a single computation, requests for other keys never wait for it, and a
computation that raises is not kept (the next request tries again).
"""
from __future__ import annotations

import threading
from typing import Callable, Hashable, TypeVar

T = TypeVar("T")


class _Slot:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.done = False
        self.value = None


class Once:
    def __init__(self) -> None:
        self._lock = threading.Lock()  # guards the dict of slots only, never a computation
        self._slots: dict[Hashable, _Slot] = {}

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        with self._lock:
            slot = self._slots.setdefault(key, _Slot())
        with slot.lock:
            if not slot.done:
                slot.value = compute()
                slot.done = True
            return slot.value
