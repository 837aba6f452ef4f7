"""What every reader returns: the cells of one sheet, as typed as the file allows."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from server.sheet.validation import Problem

# A batch sheet has at most 500 rows; a file with a hundred times that many lines is refused
# before it is parsed (exactly counted problems are reported for anything below).
MAX_FILE_ROWS = 50_000


def too_many_rows(name: str) -> "UnreadableFile":
    return UnreadableFile(f"{name} has more than {MAX_FILE_ROWS:,} rows; a batch sheet has at most "
                          "500 rows (including the header). Split it into several files.")


class UnreadableFile(Exception):
    """The file cannot be read at all; the text is one clear line for the person."""


@dataclass
class Table:
    title: str                   # the sheet (tab) the cells came from
    rows: list[list[Any]]        # row 1 (the header) first; blank rows kept so row numbers hold
    warnings: list[Problem] = field(default_factory=list)  # about the file, e.g. its encoding
