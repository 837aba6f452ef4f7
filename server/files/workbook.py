"""An output copy of the person's workbook: bad cells marked, result columns filled.

Whatever came in (.csv, .xls or .xlsx), the copy is a new .xlsx holding the same cells, written
as a stream: one output format, and a cost that does not depend on what else the file held.
"""
from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path
from typing import Any, Iterable

import openpyxl
from openpyxl.cell import WriteOnlyCell
from openpyxl.comments import Comment
from openpyxl.styles import PatternFill

from server.files.table import Table
from server.sheet.cells import CONTROL_CHARACTERS
from server.sheet.marks import ERROR_COLOUR, WARNING_COLOUR, cell_marks, header_renames
from server.sheet.validation import Report

ERROR_FILL = PatternFill("solid", start_color=ERROR_COLOUR, end_color=ERROR_COLOUR)
WARNING_FILL = PatternFill("solid", start_color=WARNING_COLOUR, end_color=WARNING_COLOUR)
FILLS = {ERROR_COLOUR: ERROR_FILL, WARNING_COLOUR: WARNING_FILL}
AUTHOR = "sheetbatch"


class WorkbookGrid:
    """The copy is built from the rows already read (never by loading the file again as a
    workbook) and written as a stream (openpyxl's write-only mode): it costs about the size of
    the table, whatever styles, sheets or parts the file held. The person's formatting is not
    carried over; the cells, marks and results are."""

    def __init__(self, source: Path, table: Table):
        self.rows = table.rows
        self.title = re.sub(r"[\[\]:*?/\\]", "_", table.title)[:31] or "Sheet1"
        self.written: dict[int, dict[int, Any]] = defaultdict(dict)  # row → column → value
        self.links: set[tuple[int, int]] = set()
        self.marks: dict[tuple[int, int], tuple[str, str]] = {}  # 0-based, as cell_marks gives

    def mark(self, report: Report) -> None:
        """Fill each problem cell red (error) or amber (warning) with its message as a comment;
        a header meaning one of our columns is renamed to its exact name (said in its note)."""
        for column, name in header_renames(report).items():
            self.written[1][column + 1] = name
        self.marks.update(cell_marks(report, renamed=True))

    def write_column(self, header: str, column: int, values: Iterable[tuple[int, Any]],
                     links: bool = False) -> None:
        """Write one result column (1-based index): header in row 1, then (row, value) pairs;
        with `links`, each value is also the cell's hyperlink."""
        self.written[1][column] = header
        for row, value in values:
            self.written[row][column] = value
            if links and value:
                self.links.add((row, column))

    def save(self, path) -> None:
        workbook = openpyxl.Workbook(write_only=True)
        sheet = workbook.create_sheet(self.title)
        marked_rows = defaultdict(dict)
        for (row, column), mark in self.marks.items():
            marked_rows[row + 1][column + 1] = mark
        last = max(len(self.rows), max(self.written, default=0), max(marked_rows, default=0))
        for row in range(1, last + 1):
            sheet.append(self._row(sheet, row, marked_rows.get(row, {})))
        workbook.save(path)

    def _row(self, sheet, row: int, marks: dict[int, tuple[str, str]]) -> list[WriteOnlyCell]:
        values = self.rows[row - 1] if row <= len(self.rows) else []
        written = self.written.get(row, {})
        width = max(len(values), max(written, default=0), max(marks, default=0))
        cells = []
        for column in range(1, width + 1):
            cell = WriteOnlyCell(sheet)
            put_value(cell, written[column] if column in written else
                      values[column - 1] if column <= len(values) else None)
            if (row, column) in self.links:
                cell.hyperlink = cell.value
            if column in marks:
                note, colour = marks[column]
                cell.fill = FILLS[colour]
                cell.comment = Comment(note, AUTHOR, width=320,
                                       height=40 + 18 * (note.count("\n") + 1))
            cells.append(cell)
        return cells


def put_value(cell, value: Any) -> None:
    """Store a value as written: text starting with "=" stays text, never a formula. Control
    characters, which a workbook cannot hold, are left out (validation warns about them)."""
    if isinstance(value, str):
        value = CONTROL_CHARACTERS.sub("", value)
    cell.value = value
    if isinstance(value, str) and value.startswith("="):
        cell.data_type = "s"
