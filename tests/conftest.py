"""The whole test process runs torch with the one configured thread count (XRAY_TORCH_THREADS, default 1; see
model/threads.py): set here before any test module runs a model and re-applied before every test (a test that
trains sets its own count, as train.py does), so results depend neither on test order nor on which module
happened to set a count first. Threads that a test starts call `threads.apply()`; the app's request threads
apply it in the route wrapper."""
import pytest

from app.config import Settings
from model import threads

threads.configure(Settings().torch_threads)


@pytest.fixture(autouse=True)
def _torch_threads():
    threads.apply()
