"""In-memory Google Sheets API v4 (+ the Drive v3 calls gspread needs) emulator.

Start it with `EmulatorServer` (tests) or `python -m tests.sheets_emulator` (dev server).
"""
from .server import EmulatorServer  # noqa: F401
from .store import State  # noqa: F401
