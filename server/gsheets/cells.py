"""Sheets API v4 shapes for cells and ranges: values written RAW (text always stays text), colours,
grid ranges and the requests that format a column."""
from __future__ import annotations

from typing import Any

TEXT_FORMAT = {"numberFormat": {"type": "TEXT", "pattern": "@"}}
# Google: "Each cell can hold up to 50,000 characters"; one longer cell fails the whole request.
MAX_CELL_CHARACTERS = 50_000
ELLIPSIS = "…"


def within_cell(text: str, room: int = MAX_CELL_CHARACTERS) -> str:
    """`text` as it fits in `room` characters of a cell: cut, with an ellipsis, when longer
    (a long prompt or error; the whole of it stays in the results file and the web app)."""
    return text if len(text) <= room else text[:room - len(ELLIPSIS)] + ELLIPSIS


def typed_value(value: Any) -> dict:
    """A value as CellData.userEnteredValue without any parsing: a string is always a
    stringValue."""
    if value is None:
        return {}
    if isinstance(value, bool):
        return {"userEnteredValue": {"boolValue": value}}
    if isinstance(value, (int, float)):
        return {"userEnteredValue": {"numberValue": value}}
    return {"userEnteredValue": {"stringValue": within_cell(str(value))}}


def grid_range(sheet_id: int, row: int, column: int, end_row: int | None = None) -> dict:
    """0-based cell (or a run of rows in one column, up to `end_row` exclusive)."""
    return {"sheetId": sheet_id, "startRowIndex": row,
            "endRowIndex": row + 1 if end_row is None else end_row,
            "startColumnIndex": column, "endColumnIndex": column + 1}


def text_value_request(sheet_id: int, row: int, column: int, text: str) -> dict:
    return {"updateCells": {"range": grid_range(sheet_id, row, column),
                            "rows": [{"values": [typed_value(text)]}],
                            "fields": "userEnteredValue"}}


def text_format_request(sheet_id: int, column: int, first_row: int, end_row: int) -> dict:
    """Format a column's rows as plain text, so 16:9 stays a ratio and 2.0 stays 2.0."""
    return {"repeatCell": {"range": grid_range(sheet_id, first_row, column, end_row),
                           "cell": {"userEnteredFormat": TEXT_FORMAT},
                           "fields": "userEnteredFormat.numberFormat"}}


def hex_colour(colour: dict | None) -> str | None:
    """A Sheets Color as RRGGBB (missing components are 0, as the API omits zeros)."""
    if colour is None:
        return None
    return "".join(f"{round(float(colour.get(part, 0)) * 255):02X}"
                   for part in ("red", "green", "blue"))


def sheets_colour(hex_colour: str) -> dict:
    return {part: int(hex_colour[i:i + 2], 16) / 255
            for part, i in (("red", 0), ("green", 2), ("blue", 4))}
