"""Which sheetbatch runs: the installed package's version, said when `serve` and `worker` start
and in the readiness answer."""
from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version


def package_version() -> str:
    try:
        return version("sheetbatch")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"
