"""How problems are shown in a grid, whichever grid: one note per cell (problems sharing a cell
share it), light red when any of them is an error, amber otherwise."""
from __future__ import annotations

from collections import defaultdict

from server.sheet.validation import Problem, Report

ERROR_COLOUR, WARNING_COLOUR = "F4C7C3", "FCE8B2"  # RRGGBB


def anchor(problem: Problem) -> tuple[int, int]:
    """Where a problem is shown, 0-based (row, column): its cell, its header cell, or A1 for the
    sheet as a whole."""
    if problem.col_index is None:
        return 0, 0
    return (problem.row or 1) - 1, problem.col_index


def header_renames(report: Report) -> dict[int, str]:
    """0-based column → our exact name, for each header a fix renames (`Aspect Ratio`)."""
    return {problem.col_index: problem.rename_to for problem in report.errors
            if problem.rename_to and problem.col_index is not None}


def renamed_note(problem: Problem) -> str:
    return (f'Renamed from "{problem.value}" to {problem.rename_to}, the exact name, so this '
            "column's settings are used. Check it is what you meant.")


def cell_marks(report: Report, renamed: bool = False) -> dict[tuple[int, int], tuple[str, str]]:
    """0-based (row, column) → (note, colour) for every problem of the report. With `renamed`
    (a copy whose headers were renamed by `header_renames`), those headers say so, in amber."""
    found: dict[tuple[int, int], list[tuple[bool, str]]] = defaultdict(list)
    for is_error, problems in ((True, report.errors), (False, report.warnings)):
        for problem in problems:
            if renamed and problem.rename_to:
                found[anchor(problem)].append((False, renamed_note(problem)))
            else:
                found[anchor(problem)].append((is_error, problem.message))
    return {cell: ("\n".join(message for _, message in items),
                   ERROR_COLOUR if any(is_error for is_error, _ in items) else WARNING_COLOUR)
            for cell, items in found.items()}
