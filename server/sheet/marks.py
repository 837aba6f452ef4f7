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


def cell_marks(report: Report) -> dict[tuple[int, int], tuple[str, str]]:
    """0-based (row, column) → (note, colour) for every problem of the report."""
    found: dict[tuple[int, int], list[tuple[bool, Problem]]] = defaultdict(list)
    for is_error, problems in ((True, report.errors), (False, report.warnings)):
        for problem in problems:
            found[anchor(problem)].append((is_error, problem))
    return {cell: ("\n".join(problem.message for _, problem in items),
                   ERROR_COLOUR if any(is_error for is_error, _ in items) else WARNING_COLOUR)
            for cell, items in found.items()}
