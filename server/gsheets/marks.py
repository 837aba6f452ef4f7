"""Our marks in a Google Sheet: problem cells coloured and noted in place, and undone at the next
validation without touching the person's own notes and colours.

What each marked cell looked like before is remembered in developer metadata on the sheet, so any
backend process can undo the marks later.
"""
from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

from gspread.utils import a1_to_rowcol, rowcol_to_a1

from server.gsheets.cells import grid_range, sheets_colour
from server.sheet.marks import ERROR_COLOUR, WARNING_COLOUR, cell_marks
from server.sheet.validation import Report

if TYPE_CHECKING:
    from server.gsheets.contents import Look, SheetContents

MARK_KEY = "sheetbatch.marks"
OUR_COLOURS = (ERROR_COLOUR, WARNING_COLOUR)
MARKS_CHUNK = 25_000  # a metadata value may hold 30,000 characters; keep a margin


def mark_requests(contents: SheetContents, report: Report) -> list[dict]:
    """The requests that undo our previous marks, show the new ones and remember them (none when
    nothing was marked and nothing is to be marked); `contents` is updated to match."""
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
    requests += [{"deleteDeveloperMetadata": {"dataFilter": {"developerMetadataLookup": {
        "metadataId": mid}}}} for mid in contents.mark_metadata]
    requests += [{"createDeveloperMetadata": {"developerMetadata": {
        "metadataKey": MARK_KEY, "metadataValue": chunk, "visibility": "DOCUMENT",
        "location": {"sheetId": contents.sheet_id}}}} for chunk in _encode_marks(remembered)]
    contents.looks.update(final)
    contents.marks, contents.mark_metadata = remembered, []
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


def _encode_marks(marks: dict[str, dict]) -> list[str]:
    """JSON values of at most MARKS_CHUNK characters each (one metadata entry per chunk), so
    a sheet full of errors and long personal notes is still remembered exactly."""
    chunks, current, size = [], {}, 2
    for address, entry in sorted(marks.items(), key=lambda item: _cell(item[0])):
        piece = len(json.dumps({address: entry}, separators=(",", ":"), ensure_ascii=False))
        if current and size + piece > MARKS_CHUNK:
            chunks.append(current)
            current, size = {}, 2
        current[address] = entry
        size += piece
    if current:
        chunks.append(current)
    return [json.dumps(chunk, separators=(",", ":"), ensure_ascii=False) for chunk in chunks]


def decode_marks(value: str | None) -> dict[str, dict]:
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
