"""What a validation comes to, in counts and in the two sentences every surface shows (the CLI,
the web pages, the add-in's sidebar): how big the sheet is, and whether it is ready or where its
problems are. The words are made here only, so every surface says the same thing."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from server.sheet.columns import MAX_DATA_ROWS

if TYPE_CHECKING:
    from server.sheet.validation import Report

# The counts of `validate --json` and /api/validate (`counts`), in this order.
COUNT_NAMES = ("errors", "warnings", "ready_rows", "rows_to_fix", "headers_to_fix", "sheet_errors")


def plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def in_words(places: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    return places[0] if len(places) == 1 else f"{', '.join(places[:-1])} and {places[-1]}"


@dataclass(frozen=True)
class Summary:
    """Where a sheet's errors are. Several problems can share a row or a header cell, so the
    places are counted apart from the problems: errors = the problems in rows + in header cells
    + those of the sheet as a whole (a missing column, too many rows)."""
    rows: int
    images: int
    errors: int
    warnings: int
    ready_rows: int  # rows that pass every check, made once the rest is fixed
    rows_to_fix: int  # rows with at least one error in a cell
    headers_to_fix: int  # header cells (row 1) with an error
    sheet_errors: int  # errors of no row, nor header cell

    @classmethod
    def of(cls, report: Report) -> Summary:
        rows_with_errors = {problem.row for problem in report.errors if problem.row}
        return cls(rows=report.row_count, images=report.images, errors=len(report.errors),
                   warnings=len(report.warnings), ready_rows=len(report.rows),
                   rows_to_fix=len(rows_with_errors - {1}),
                   headers_to_fix=len({problem.cell for problem in report.errors
                                       if problem.row == 1}),
                   sheet_errors=sum(1 for problem in report.errors if problem.row is None))

    @property
    def size(self) -> str:
        """'4 rows, 11 images'; with errors, how many rows are ready, and that the images count
        every row (a bad cell counted at its default)."""
        if self.rows > MAX_DATA_ROWS:  # only the rows within the limit are read
            return (f"{plural(self.rows, 'row')}, over the limit of {MAX_DATA_ROWS}; the first "
                    f"{MAX_DATA_ROWS} hold {plural(self.images, 'image')}")
        if not self.errors or not self.rows:
            return f"{plural(self.rows, 'row')}, {plural(self.images, 'image')}"
        return (f"{plural(self.rows, 'row')} ({self.ready_rows:,} ready), "
                f"{plural(self.images, 'image')} in all")

    @property
    def verdict(self) -> str:
        """'Ready to generate', or where the problems are: '7 problems to fix in 3 of 4 rows and
        1 header'."""
        if not self.errors:
            if not self.warnings:
                return "Ready to generate"
            return f"Ready to generate, with {plural(self.warnings, 'warning')} to read"
        places = []
        if self.rows_to_fix:
            places.append(self._rows_to_fix())
        if self.headers_to_fix:
            places.append(plural(self.headers_to_fix, "header"))
        if self.sheet_errors:
            places.append("the sheet as a whole")
        return f"{plural(self.errors, 'problem')} to fix in {in_words(places)}"

    def _rows_to_fix(self) -> str:
        if self.rows_to_fix < self.rows:
            return f"{self.rows_to_fix:,} of {plural(self.rows, 'row')}"
        return "the row" if self.rows == 1 else f"all {self.rows:,} rows"

    def as_dict(self) -> dict:
        return {"counts": {name: getattr(self, name) for name in COUNT_NAMES},
                "summary": {"size": self.size, "verdict": self.verdict}}
