"""One torch thread count for the whole process, applied in every thread that runs a model.

float32 results depend on how many threads a reduction is split over, and torch keeps that count per OS thread
(OpenMP's nthreads ICV and MKL's local count): `torch.set_num_threads` in one thread (a test module, the app's
lifespan) does not reach a thread that already ran torch code, such as a server's worker threads or a test's
main thread. So the count is configured once for the process (`configure`, from the XRAY_TORCH_THREADS setting)
and every place that starts model work in some thread calls `apply()` first: the API's route wrapper
(app/routing.py), the test process (tests/conftest.py) and any thread a test starts itself. Two threads that
both applied it compute the same float32 values for the same input.
"""
from __future__ import annotations

import threading

import torch

DEFAULT = 1  # the XRAY_TORCH_THREADS default: one thread gives the same numbers on every machine and load

_count = DEFAULT
_local = threading.local()


def configure(n: int) -> None:
    """Set the process's thread count and apply it in the calling thread."""
    global _count
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"the torch thread count must be a whole number >= 1, got {n!r}")
    _count = n
    apply()


def count() -> int:
    return _count


def apply() -> None:
    """Make the calling thread run torch with the configured count. Once per thread (and again if something set
    another count in it since), so calling it before every piece of model work costs next to nothing."""
    if getattr(_local, "count", None) != _count or torch.get_num_threads() != _count:
        torch.set_num_threads(_count)  # also turns MKL's load-dependent dynamic threading off in this thread
        _local.count = _count
