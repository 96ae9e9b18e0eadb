"""Benchmarks (not part of the test suite): `python -m bench.forward`, `python -m bench.load`. Results go to
docs/benchmarks.md."""
