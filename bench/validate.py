"""Benchmark: how much validation adds on top of merely loading a 499-row sheet.

Builds a 499-row .xlsx and .csv (all 11 columns, realistic values) in a temporary folder,
then times, best of 5:
  * load     — openpyxl read_only `iter_rows(values_only=True)` / `csv.reader`, nothing else;
  * validate — `server.files.check.check_file` (read within limits + the schema + the estimate).
Goal: validation adds under 50% on top of loading.

Run: .venv/bin/python bench/validate.py [--repeat 5]
"""
from __future__ import annotations

import argparse
import csv
import platform
import sys
import tempfile
import time
from pathlib import Path

import openpyxl

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from server.config import Settings  # noqa: E402
from server.files.check import check_file  # noqa: E402
from server.money.prices import PriceTable  # noqa: E402
from tests.conftest_validation import realistic_rows, write_csv, write_xlsx  # noqa: E402

DATA_ROWS = 499


def load_xlsx(path: Path) -> int:
    workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        return sum(1 for _ in workbook.worksheets[0].iter_rows(values_only=True))
    finally:
        workbook.close()


def load_csv(path: Path) -> int:
    with open(path, newline="", encoding="utf-8-sig") as handle:
        return sum(1 for _ in csv.reader(handle))


def best_of(repeat: int, function, *args) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        function(*args)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    settings = Settings()
    rows = realistic_rows(DATA_ROWS)
    with tempfile.TemporaryDirectory() as folder:
        files = {"xlsx": write_xlsx(Path(folder) / "batch.xlsx", rows),
                 "csv": write_csv(Path(folder) / "batch.csv", rows)}
        loaders = {"xlsx": load_xlsx, "csv": load_csv}
        print(f"Python {platform.python_version()}, {platform.machine()}, "
              f"{platform.platform()}; best of {args.repeat}")
        print(f"{'file':<6} {'size':>9} {'load':>10} {'validate':>10} {'ratio':>7} {'overhead':>9}")
        for kind, path in files.items():
            report = check_file(path, None, settings, PriceTable.load()).report
            assert report.valid and report.row_count == DATA_ROWS, report.errors[:3]
            assert loaders[kind](path) == DATA_ROWS + 1
            loaded = best_of(args.repeat, loaders[kind], path)
            checked = best_of(args.repeat, check_file, path, None, settings, PriceTable.load())
            print(f"{kind:<6} {path.stat().st_size / 1024:>7.1f}KB {loaded * 1000:>8.1f}ms "
                  f"{checked * 1000:>8.1f}ms {checked / loaded:>6.2f}x "
                  f"{(checked / loaded - 1) * 100:>8.0f}%")


if __name__ == "__main__":
    main()
