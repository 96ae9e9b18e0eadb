"""app/once.py, the app's one lazy-initialisation pattern: one computation per key however many threads ask,
keys independent of each other, failures not kept."""
from __future__ import annotations

import threading
import time

import pytest

from app.once import Once


def test_concurrent_first_gets_compute_once():
    once, release, calls = Once(), threading.Event(), []

    def compute():
        calls.append(1)
        release.wait(5)
        return object()

    got = []
    threads = [threading.Thread(target=lambda: got.append(once.get("k", compute))) for _ in range(6)]
    for t in threads:
        t.start()
    time.sleep(0.2)  # every thread is now inside get(): one computing, the others waiting on the key
    release.set()
    for t in threads:
        t.join()
    assert len(calls) == 1 and len(got) == 6 and all(g is got[0] for g in got)
    assert once.get("k", lambda: pytest.fail("computed again")) is got[0]


def test_a_slow_key_does_not_block_another():
    once, release = Once(), threading.Event()
    slow = threading.Thread(target=lambda: once.get("slow", lambda: release.wait(5)))
    slow.start()
    time.sleep(0.1)
    t0 = time.perf_counter()
    assert once.get("fast", lambda: 42) == 42
    assert time.perf_counter() - t0 < 1  # not waiting for "slow"
    release.set()
    slow.join()


def test_a_failed_computation_is_not_kept():
    once, attempts = Once(), []

    def flaky():
        attempts.append(1)
        if len(attempts) == 1:
            raise OSError("disk hiccup")
        return "ok"

    with pytest.raises(OSError):
        once.get("k", flaky)
    assert once.get("k", flaky) == "ok" and len(attempts) == 2
