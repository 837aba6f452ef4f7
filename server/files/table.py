"""What every reader returns (the cells of one sheet, as typed as the file allows), and the
limits every reader enforces while it reads, so a hostile file is refused before it costs much
memory or CPU."""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

from server.sheet.columns import column_letter
from server.sheet.validation import Problem

# A batch sheet has at most 500 rows; a file with a hundred times that many lines is refused
# before it is parsed (exactly counted problems are reported for anything below).
MAX_FILE_ROWS = 50_000
# A batch sheet uses about twenty columns (eleven of ours, eight result columns, a few notes).
MAX_FILE_COLUMNS = 100
MAX_CELL_CHARS = 50_000        # Google Sheets' own limit for one cell
MAX_TEXT_CHARS = 16_000_000    # 500 rows of the longest prompt any provider takes (32,000)
MAX_READ_SECONDS = 10.0        # a real sheet of 499 prompts reads in well under a second


def too_many_rows(name: str) -> "UnreadableFile":
    return UnreadableFile(f"{name} has more than {MAX_FILE_ROWS:,} rows; a batch sheet has at most "
                          "500 rows (including the header). Split it into several files.")


def too_many_columns(name: str, number: int, count: int) -> "UnreadableFile":
    return UnreadableFile(f"{name}: row {number} has {count:,} columns; a batch sheet uses about "
                          f"twenty, and at most {MAX_FILE_COLUMNS} are read. Delete the extra "
                          "columns and save it again.")


class UnreadableFile(Exception):
    """The file cannot be read at all; the text is one clear line for the person."""


@dataclass
class Table:
    title: str                   # the sheet (tab) the cells came from
    rows: list[list[Any]]        # row 1 (the header) first; blank rows kept so row numbers hold
    warnings: list[Problem] = field(default_factory=list)  # about the file, e.g. its encoding
    sheets: list[str] = field(default_factory=list)  # every tab of a workbook, in order


def without_folders(error: Exception, path: Path) -> str:
    """A library's error text with our folders left out (they mean nothing to the person and
    tell an attacker where the server keeps its files)."""
    return str(error).replace(str(path.parent) + os.sep, "").replace(str(path.parent), "")


def read_limited(rows: Iterable[Sequence[Any]], name: str,
                 seconds: float = MAX_READ_SECONDS) -> list[list[Any]]:
    """Collect a reader's rows (parsed lazily, one at a time), refusing the file at the first
    row, column, cell, total or second beyond the limits above."""
    deadline = time.monotonic() + seconds
    table, text = [], 0
    for number, values in enumerate(rows, start=1):
        if number > MAX_FILE_ROWS:
            raise too_many_rows(name)
        values = _trimmed(values, name, number)
        for column, value in enumerate(values):
            if isinstance(value, str):
                if len(value) > MAX_CELL_CHARS:
                    raise UnreadableFile(
                        f"{name}: cell {column_letter(column)}{number} holds {len(value):,} "
                        f"characters; a cell may hold at most {MAX_CELL_CHARS:,}.")
                text += len(value)
        if text > MAX_TEXT_CHARS:
            raise UnreadableFile(f"{name} holds more than {MAX_TEXT_CHARS:,} characters of text, "
                                 "far more than 500 rows of prompts; split it into several files.")
        if time.monotonic() > deadline:
            raise UnreadableFile(f"{name} took more than {seconds:.0f} seconds to read, far longer "
                                 "than a sheet of prompts needs; save only the batch sheet and "
                                 "upload it again.")
        table.append(values)
    return table


def _trimmed(values: Sequence[Any], name: str, number: int) -> list[Any]:
    """The row without trailing empty cells (formatting alone makes some writers pad rows),
    refused when it still has more than MAX_FILE_COLUMNS cells."""
    values = list(values)
    if len(values) > MAX_FILE_COLUMNS:
        while values and values[-1] in (None, ""):
            values.pop()
        if len(values) > MAX_FILE_COLUMNS:
            raise too_many_columns(name, number, len(values))
    return values
