"""In-memory Google Sheets API v4 (+ the Drive v3 calls gspread needs) emulator.

Start it with `EmulatorServer` (tests, benchmarks) or `python -m testkit.sheets_emulator` (a dev
server, run from the checkout root).
"""
from .server import EmulatorServer  # noqa: F401
from .store import State  # noqa: F401
