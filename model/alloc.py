"""glibc malloc settings for a process that keeps activations alive (traces).

By default glibc serves every allocation above 128 KiB with a fresh mmap and returns it with munmap on free,
so a traced forward, which keeps each activation instead of letting the next layer reuse its buffer, pays a
page fault per touched page for every kept tensor: on `tiny-gpt` at 128 tokens that made the traced forward
~1.45x the bare one, against ~1.1x once such blocks come from the heap (bench/forward.py, docs/benchmarks.md).
`tune_malloc` raises the mmap threshold to 32 MiB (glibc's ceiling on 64-bit; a GPT-2-small trace keeps 4.7 MiB
per-head results and 25 MiB logits and probabilities) and keeps up to 256 MiB of freed heap before trimming (one
full GPT-2-small trace at 128 tokens holds ~250 MB), so the memory cost is bounded. With 4 MiB / 32 MiB the
GPT-2-small traced forward cost 1.19-1.22x transformers' eager forward; with these, 1.09-1.11x (bench/hf.py,
docs/benchmarks.md section 5).
"""
from __future__ import annotations

import ctypes
import ctypes.util

M_TRIM_THRESHOLD = -1  # glibc <malloc.h>
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 * 2**20
TRIM_THRESHOLD = 256 * 2**20


def tune_malloc(mmap_threshold: int = MMAP_THRESHOLD, trim_threshold: int = TRIM_THRESHOLD) -> bool:
    """Apply the thresholds with mallopt; True if glibc accepted both, False where there is no glibc."""
    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return mallopt(M_MMAP_THRESHOLD, mmap_threshold) == 1 and mallopt(M_TRIM_THRESHOLD, trim_threshold) == 1
