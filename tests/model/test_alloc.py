"""model/alloc.py (Linux, glibc): glibc accepts the malloc thresholds, and a traced forward still returns the same numbers."""
import torch

from model import alloc, zoo
from model.transformer import run_with_cache


def test_glibc_accepts_the_thresholds():
    assert alloc.tune_malloc() is True
    assert alloc.tune_malloc(alloc.MMAP_THRESHOLD, alloc.TRIM_THRESHOLD) is True  # idempotent


def test_traced_forward_unchanged_after_tuning():
    loaded = zoo.load(zoo.DEFAULT_MODEL)
    ids = torch.tensor(loaded.encode("the cat sat on the mat"))
    with torch.inference_mode():
        before_logits, before = run_with_cache(loaded.model, ids)
        alloc.tune_malloc()
        after_logits, after = run_with_cache(loaded.model, ids)
    # exact by construction: malloc settings change where buffers live, not the arithmetic (allocations stay
    # 64-byte aligned, the same kernels run)
    torch.testing.assert_close(after_logits, before_logits, rtol=0, atol=0)
    assert after.keys() == before.keys()
    for k in before:
        torch.testing.assert_close(after[k], before[k], rtol=0, atol=0)
