"""Benchmarks: the figures in docs/benchmarks.md and docs/reliability.md, measured on real
processes with the fakes and harnesses of `testkit`. Each is a module run from the checkout
root, e.g. `.venv/bin/python -m bench.pipeline --images 40`; they print figures and assert
nothing (the tests assert)."""
