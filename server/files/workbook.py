"""An output copy of the person's workbook: bad cells marked, result columns filled.

For an .xlsx source the copy keeps the person's formatting; a .csv or .xls source becomes a new
.xlsx holding the same cells, so there is one output format whatever came in.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterable

import openpyxl
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
    def __init__(self, source: Path, table: Table):
        if Path(source).suffix.lower() == ".xlsx":
            self.workbook = openpyxl.load_workbook(source)
            self.sheet = self.workbook[table.title]
        else:
            self.workbook = openpyxl.Workbook()
            self.sheet = self.workbook.active
            self.sheet.title = re.sub(r"[\[\]:*?/\\]", "_", table.title)[:31] or "Sheet1"
            for row, values in enumerate(table.rows, start=1):
                for column, value in enumerate(values, start=1):
                    put_value(self.sheet.cell(row=row, column=column), value)

    def mark(self, report: Report) -> None:
        """Fill each problem cell red (error) or amber (warning) with its message as a comment;
        a header meaning one of our columns is renamed to its exact name (said in its note)."""
        for column, name in header_renames(report).items():
            self.sheet.cell(row=1, column=column + 1, value=name)
        for (row, column), (note, colour) in cell_marks(report, renamed=True).items():
            cell = self.sheet.cell(row=row + 1, column=column + 1)
            cell.fill = FILLS[colour]
            cell.comment = Comment(note, AUTHOR, width=320, height=40 + 18 * (note.count("\n") + 1))

    def write_column(self, header: str, column: int, values: Iterable[tuple[int, Any]],
                     links: bool = False) -> None:
        """Write one result column (1-based index): header in row 1, then (row, value) pairs;
        with `links`, each value is also the cell's hyperlink."""
        self.sheet.cell(row=1, column=column, value=header)
        for row, value in values:
            cell = self.sheet.cell(row=row, column=column)
            put_value(cell, value)
            if links and value:
                cell.hyperlink = value

    def save(self, path: Path) -> None:
        self.workbook.save(path)


def put_value(cell, value: Any) -> None:
    """Store a value as written: text starting with "=" stays text, never a formula. Control
    characters, which a workbook cannot hold, are left out (validation warns about them)."""
    if isinstance(value, str):
        value = CONTROL_CHARACTERS.sub("", value)
    cell.value = value
    if isinstance(value, str) and value.startswith("="):
        cell.data_type = "s"
