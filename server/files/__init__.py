"""Spreadsheet files: .csv/.xls/.xlsx readers (size-, row- and zip-limited before parsing), the
marked and results workbook, and template files."""
from __future__ import annotations

from pathlib import Path

from server.files.child import read_in_child
from server.files.table import Table, UnreadableFile

SUPPORTED = (".csv", ".xls", ".xlsx")


def human_size(size: int) -> str:
    return f"{size / 2**20:.1f} MB" if size >= 2**20 else f"{size / 1024:.0f} KB"


def read_file(path: Path, sheet: str | None = None, *, max_bytes: int = 10 * 2**20,
              max_unzipped_bytes: int = 200 * 2**20) -> Table:
    """Read one sheet of a .csv/.xls/.xlsx file, refusing oversized files before parsing, in a
    child process within a memory ceiling and a time limit (server/files/child.py)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        raise UnreadableFile(f"{path.name}: sheetbatch reads .csv, .xls and .xlsx files, "
                             f"not {suffix or 'files without an extension'}.")
    try:
        size = path.stat().st_size
    except OSError as error:
        raise UnreadableFile(f"{path.name}: {error.strerror}.") from None
    if not path.is_file():
        raise UnreadableFile(f"{path.name} is not a file.")
    if size > max_bytes:
        raise UnreadableFile(f"{path.name} is {human_size(size)}; the limit is "
                             f"{human_size(max_bytes)}. A sheet of 499 prompts is far smaller.")
    return read_in_child(path, sheet, max_unzipped_bytes)


__all__ = ["Table", "UnreadableFile", "read_file", "human_size", "SUPPORTED"]
