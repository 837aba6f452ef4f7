"""What the tests and the benchmarks share, and only they: faithful fakes of the services we
cannot reach (`fakes/`), the Google Sheets emulator (`sheets_emulator/`), and the harnesses that
drive real processes (`processes`, `chaos`, `soak`), the sheets they feed them (`sheet_files`),
the hostile uploads (`hostile_files`) and the clients that act as a person (`clients`).

It lives beside `server/`, not in it: the installed wheel leaves it out (pyproject's
`packages.find` includes only `server*` and `workers*`). It is imported from a checkout, where
pytest (its `pythonpath`) and `python -m bench.NAME`, run from the checkout root, find it.
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # the checkout
SHEETBATCH = Path(sys.executable).parent / "sheetbatch"  # the command, as installed in the venv
