"""The sidebar's "Write prompts" step: rows a chat model wrote, appended below the last filled
row of the person's sheet (never over a filled cell), then validated in place.

One read, one batchUpdate that appends (values written RAW: model text never becomes a formula),
then validation's own one read and one write."""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable

from server.gsheets.cells import grid_range, typed_value
from server.gsheets.contents import SheetContents
from server.gsheets.grid import SheetGrid
from server.gsheets.sheet_batches import CheckedSheet, SheetBatches
from server.prompts.chat import ChatClient
from server.prompts.schema import CHOSEN_COLUMNS, TEXT_COLUMNS
from server.prompts.writer import OrderError, PromptOrder, Written, write_prompts
from server.sheet.cells import is_blank, text_of
from server.sheet.columns import MAX_DATA_ROWS
from server.sheet.template import FULL_COLUMNS


@dataclass(frozen=True)
class Placement:
    """Where the rows go: the sheet's columns by name, the header cells to add, the first row."""
    columns: dict[str, int]  # column name → 0-based column
    new_headers: dict[str, int]  # header cells to write in row 1 (empty today)
    first_row: int  # 0-based: the row below the last filled one


def placement(contents: SheetContents, order: PromptOrder) -> Placement:
    """Our columns as the sheet has them; the ones the rows need and the sheet lacks go in the
    first empty header cells to the right; an empty sheet gets the full template's header."""
    if not contents.rows:
        return Placement({}, {name: i for i, name in enumerate(FULL_COLUMNS)}, 1)
    header = contents.rows[0]
    columns = {}
    for index, raw in enumerate(header):
        if not is_blank(raw) and text_of(raw) in FULL_COLUMNS and raw == text_of(raw):
            columns.setdefault(text_of(raw), index)
    needed = ["prompt", *order.fixed]
    missing = [name for name in needed if name not in columns]
    new_headers = {name: contents.width + i for i, name in enumerate(missing)}
    return Placement(columns, new_headers, len(contents.rows))


def sheet_order(order: PromptOrder, place: Placement) -> PromptOrder:
    """The model fills only the columns the sheet has (or gets); room is checked first."""
    existing = max(place.first_row - 1, 0)
    if existing + order.rows > MAX_DATA_ROWS:
        room = max(MAX_DATA_ROWS - existing, 0)
        raise OrderError(f"This sheet already has {existing} rows; it has room for {room} more "
                         f"({MAX_DATA_ROWS} at most). Ask for fewer, or use a new tab.")
    present = set(place.columns) | set(place.new_headers)
    return replace(order, allowed=tuple(name for name in (*TEXT_COLUMNS, *CHOSEN_COLUMNS)
                                        if name in present))


def append_requests(contents: SheetContents, place: Placement,
                    records: list[dict[str, Any]]) -> list[dict]:
    """The new header cells and one block of rows below the last filled one, growing the grid
    when it is too small. Only cells with a value are written; every one of them was empty."""
    columns = place.columns | place.new_headers
    width = max(columns.values()) + 1
    end_row = place.first_row + len(records)
    requests = []
    if end_row > contents.row_count:
        requests.append({"appendDimension": {"sheetId": contents.sheet_id, "dimension": "ROWS",
                                             "length": end_row - contents.row_count}})
    if width > contents.col_count:
        requests.append({"appendDimension": {"sheetId": contents.sheet_id,
                                             "dimension": "COLUMNS",
                                             "length": width - contents.col_count}})
    for name, column in place.new_headers.items():
        requests.append({"updateCells": {"range": grid_range(contents.sheet_id, 0, column),
                                         "rows": [{"values": [typed_value(name)]}],
                                         "fields": "userEnteredValue"}})
    for offset, record in enumerate(records):
        cells = {columns[name]: value for name, value in record.items()
                 if name in columns and value not in (None, "")}
        for start, values in _runs(cells):
            requests.append({"updateCells": {
                "start": {"sheetId": contents.sheet_id, "rowIndex": place.first_row + offset,
                          "columnIndex": start},
                "rows": [{"values": [typed_value(value) for value in values]}],
                "fields": "userEnteredValue"}})
    return requests


def _runs(cells: dict[int, Any]) -> list[tuple[int, list[Any]]]:
    """Side-by-side cells as (first column, values): a blank cell between two is never sent, so
    nothing that looks empty (a formula showing "") is overwritten."""
    runs: list[tuple[int, list[Any]]] = []
    for column in sorted(cells):
        if runs and runs[-1][0] + len(runs[-1][1]) == column:
            runs[-1][1].append(cells[column])
        else:
            runs.append((column, [cells[column]]))
    return runs


@dataclass
class Appended:
    written: Written
    first_row: int  # 1-based sheet rows
    last_row: int
    checked: CheckedSheet


def write_into_sheet(sheets: SheetBatches, grid: Callable[[], SheetGrid], order: PromptOrder,
                     chat: Callable[[], ChatClient], provider: str) -> Appended:
    """Read the sheet, ask, append below the last filled row, validate the whole sheet in place.
    `grid` makes a grid with a fresh Sheets deadline: one before the model is asked, one after
    it answered; `chat` is made only once the sheet was read (no model is asked, and nothing is
    paid, for a sheet that cannot be written)."""
    before = grid()
    contents = before.read()
    place = placement(contents, order)
    order = sheet_order(order, place)
    written = write_prompts(order, chat(), sheets.launcher.prices,
                            sheets.launcher.capabilities(provider))
    after = grid()
    after.spreadsheet.batch_update(append_requests(contents, place, written.records))
    checked = sheets.validate(after, provider)
    return Appended(written, place.first_row + 1, place.first_row + len(written.records),
                    checked)
