"""Our marks in a Google Sheet: problem cells coloured and noted in place, and undone at the next
validation without touching the person's own notes and colours.

What each marked cell looked like before is remembered in Redis (per spreadsheet and sheet, for
MEMORY_DAYS), so any backend process can undo the marks later. It used to live in developer
metadata, but Google limits the metadata a sheet may hold, and a sheet full of problems with long
notes of the person's own went far past it.
"""
from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

import redis
from gspread.utils import a1_to_rowcol, rowcol_to_a1

from server.batches import keys
from server.gsheets.cells import grid_range, sheets_colour
from server.sheet.marks import ERROR_COLOUR, WARNING_COLOUR, cell_marks
from server.sheet.validation import Report

if TYPE_CHECKING:
    from server.gsheets.contents import Look, SheetContents

OUR_COLOURS = (ERROR_COLOUR, WARNING_COLOUR)
MEMORY_DAYS = 90  # marks older than this are the person's to clear (Format > Clear formatting)


class MarkMemory:
    """What our marks on each sheet covered, in Redis."""

    def __init__(self, connection: redis.Redis):
        self.redis = connection

    def load(self, spreadsheet_id: str, sheet_id: int) -> dict[str, dict]:
        return decode_marks(self.redis.get(keys.marks(spreadsheet_id, sheet_id)))

    def save(self, spreadsheet_id: str, sheet_id: int, marks: dict[str, dict]) -> None:
        key = keys.marks(spreadsheet_id, sheet_id)
        if marks:
            self.redis.set(key, json.dumps(marks, separators=(",", ":"), ensure_ascii=False),
                           ex=MEMORY_DAYS * 86400)
        else:
            self.redis.delete(key)


def mark_requests(contents: SheetContents, report: Report) -> list[dict]:
    """The requests that undo our previous marks and show the new ones (none when nothing
    changes); `contents` (its looks and `marks`, what to remember) is updated to match."""
    base = _undo_plan(contents)
    final: dict[tuple[int, int], Look] = dict(base)
    remembered: dict[str, dict] = {}
    for cell, (note, colour) in cell_marks(report).items():
        original = base.get(cell, contents.look(cell))
        final[cell] = (note, colour)
        remembered[_a1(cell)] = _mark_entry(note, *original)
    changed = {cell: look for cell, look in final.items() if contents.look(cell) != look}
    requests = [_style_request(contents.sheet_id, run, *look)
                for run, look in _vertical_runs(changed)]
    contents.looks.update(final)
    contents.marks = remembered
    return requests


def _undo_plan(contents: SheetContents) -> dict[tuple[int, int], Look]:
    """Cell → the person's (note, background) to put back, for each cell that still shows
    exactly our mark. A cell the person changed since is theirs now: left alone."""
    plan = {}
    for address, entry in contents.marks.items():
        cell = _cell(address)
        note, colour = contents.look(cell)
        if colour in OUR_COLOURS and _digest(note) == entry.get("h"):
            plan[cell] = (entry.get("n"), entry.get("b"))
    return plan


def _mark_entry(our_note: str, orig_note: str | None, orig_bg: str | None) -> dict:
    """What we remember of one marked cell, compactly: a digest of our note (enough to tell
    whether the cell still shows it), and the person's own note and background if any."""
    entry = {"h": _digest(our_note)}
    if orig_note:
        entry["n"] = orig_note
    if orig_bg:
        entry["b"] = orig_bg
    return entry


def _digest(note: str | None) -> str | None:
    return hashlib.sha1(note.encode()).hexdigest()[:10] if note else None


def decode_marks(value: bytes | str | None) -> dict[str, dict]:
    try:
        marks = json.loads(value or "{}")
    except ValueError:
        return {}  # damaged by hand: nothing we can safely undo
    if not isinstance(marks, dict):
        return {}
    return {k: v for k, v in marks.items() if isinstance(v, dict) and _is_a1(k)}


def _vertical_runs(looks: dict[tuple[int, int], tuple]):
    """Group cells into runs of adjacent rows in one column showing the same (note, colour):
    a column of identical errors becomes one sub-request, which keeps a sheet full of
    errors well under the ~2 MB request size."""
    run: list[tuple[int, int]] = []
    for cell in sorted(looks, key=lambda rc: (rc[1], rc[0])):
        if run and not (cell[1] == run[-1][1] and cell[0] == run[-1][0] + 1
                        and looks[cell] == looks[run[-1]]):
            yield run, looks[run[0]]
            run = []
        run.append(cell)
    if run:
        yield run, looks[run[0]]


def _style_request(sheet_id: int, run: list[tuple[int, int]], note: str | None,
                   colour: str | None) -> dict:
    """Set (or clear, when None) the note and background of a run of cells, nothing else."""
    value: dict[str, Any] = {}
    if note:
        value["note"] = note
    if colour:
        value["userEnteredFormat"] = {"backgroundColor": sheets_colour(colour)}
    (row, column), end = run[0], run[-1][0] + 1
    return {"repeatCell": {"range": grid_range(sheet_id, row, column, end), "cell": value,
                           "fields": "note,userEnteredFormat.backgroundColor"}}


def _a1(cell: tuple[int, int]) -> str:
    return rowcol_to_a1(cell[0] + 1, cell[1] + 1)


def _cell(address: str) -> tuple[int, int]:
    row, column = a1_to_rowcol(address)
    return row - 1, column - 1


def _is_a1(address: Any) -> bool:
    try:
        _cell(address)
    except Exception:  # gspread raises IncorrectCellLabel (or TypeError for non-text)
        return False
    return True
