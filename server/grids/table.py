"""What every reader returns: the cells of one sheet, as typed as the file allows."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from server.schema import Problem

# Marks look the same in a workbook and in a Google Sheet: light red errors, amber warnings.
ERROR_COLOUR, WARNING_COLOUR = "F4C7C3", "FCE8B2"


class UnreadableFile(Exception):
    """The file cannot be read at all; the text is one clear line for the person."""


@dataclass
class Table:
    title: str                   # the sheet (tab) the cells came from
    rows: list[list[Any]]        # row 1 (the header) first; blank rows kept so row numbers hold
    warnings: list[Problem] = field(default_factory=list)  # about the file, e.g. its encoding
