"""An output copy of the person's workbook: bad cells marked, result columns filled.

For an .xlsx source the copy keeps the person's formatting; a .csv or .xls source becomes a new
.xlsx holding the same cells, so there is one output format whatever came in.
"""
from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path
from typing import Any, Iterable

import openpyxl
from openpyxl.comments import Comment
from openpyxl.styles import PatternFill

from server.grids.table import ERROR_COLOUR, WARNING_COLOUR, Table
from server.schema import Problem, Report

ERROR_FILL = PatternFill("solid", start_color=ERROR_COLOUR, end_color=ERROR_COLOUR)
WARNING_FILL = PatternFill("solid", start_color=WARNING_COLOUR, end_color=WARNING_COLOUR)
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
        """Fill each problem cell red (error) or amber (warning) with its message as a comment."""
        by_cell: dict[tuple[int, int], list[tuple[bool, Problem]]] = defaultdict(list)
        for is_error, problems in ((True, report.errors), (False, report.warnings)):
            for problem in problems:
                by_cell[_anchor(problem)].append((is_error, problem))
        for (row, column), found in by_cell.items():
            cell = self.sheet.cell(row=row, column=column)
            cell.fill = ERROR_FILL if any(is_error for is_error, _ in found) else WARNING_FILL
            text = "\n".join(problem.message for _, problem in found)
            cell.comment = Comment(text, AUTHOR, width=320, height=40 + 18 * len(found))

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


def _anchor(problem: Problem) -> tuple[int, int]:
    """Where a problem is shown: its cell, its header cell, or A1 for the sheet as a whole."""
    if problem.col_index is None:
        return 1, 1
    return problem.row or 1, problem.col_index + 1


def put_value(cell, value: Any) -> None:
    """Store a value as written: text starting with "=" stays text, never a formula."""
    cell.value = value
    if isinstance(value, str) and value.startswith("="):
        cell.data_type = "s"
