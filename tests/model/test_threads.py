"""One torch thread count for the process (model/threads.py): configured once for the test process
(tests/conftest.py) and applied in any other thread before model work, so that float32 results do not depend on
which thread computed them."""
import threading

import pytest
import torch

from app.config import Settings
from model import threads


def in_thread(fn):
    out = {}
    t = threading.Thread(target=lambda: out.setdefault("v", fn()))
    t.start()
    t.join()
    return out["v"]


def test_the_test_process_runs_with_the_configured_count():
    assert threads.count() == Settings().torch_threads
    assert torch.get_num_threads() == threads.count()


def test_apply_resets_a_thread_that_ran_with_another_count():
    other = threads.count() + 1
    x = torch.randn(512, 512, generator=torch.Generator().manual_seed(0))
    main = x @ x

    def work():
        torch.set_num_threads(other)  # e.g. a worker thread that ran torch before the count was configured
        stale = torch.get_num_threads()
        threads.apply()
        return stale, torch.get_num_threads(), x @ x

    stale, applied, result = in_thread(work)
    assert stale == other and applied == threads.count()
    assert torch.equal(result, main)  # same kernels, same split of the sums: bit for bit
    assert torch.get_num_threads() == threads.count()  # the main thread is untouched


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2"])
def test_configure_refuses_a_count_that_is_not_a_whole_number_above_zero(bad):
    with pytest.raises(ValueError, match="whole number >= 1"):
        threads.configure(bad)
    assert threads.count() == Settings().torch_threads
