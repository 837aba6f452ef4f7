"""What one read of a sheet brings back: its cells as shown, plus what our earlier requests left
there (the result columns' anchors) and what we remember of our marks, for the requests that
follow."""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from server.files.table import Table
from server.gsheets.cells import hex_colour

COLUMN_KEY = "sheetbatch.column"  # per result column, value = its name
# Per submitted row, value = the row number at submission. Short: Google limits the characters
# of metadata a spreadsheet holds (keys and values), and a stopped batch keeps its anchors a day
# for Resume: two batches of 499 rows must fit (2 × 499 × 26 characters and the columns').
ROW_KEY = "sb.row.{batch_id}"
ROW_KEY_PREFIX = ROW_KEY.format(batch_id="")

Look = tuple[str | None, str | None]  # a cell's (note, RRGGBB background)


@dataclass
class SheetContents(Table):
    sheet_id: int = 0
    row_count: int = 0
    col_count: int = 0
    width: int = 0  # the widest row that holds a value
    looks: dict[tuple[int, int], Look] = field(default_factory=dict)  # 0-based cells with either
    marks: dict[str, dict] = field(default_factory=dict)  # A1 → what we remember of our mark
    column_anchors: dict[str, list[tuple[int, int]]] = field(
        default_factory=lambda: defaultdict(list))  # result column → [(metadataId, column)]
    anchored_batches: set[str] = field(default_factory=set)  # batches with row anchors here
    metadata_characters: Counter = field(default_factory=Counter)  # key → characters held

    def look(self, cell: tuple[int, int]) -> Look:
        return self.looks.get(cell, (None, None))


def contents_of(sheet: dict[str, Any]) -> SheetContents:
    """A Sheet resource (with grid data and developer metadata) as SheetContents."""
    props = sheet["properties"]
    grid = props.get("gridProperties") or {}
    contents = SheetContents(title=props["title"], rows=[], sheet_id=props["sheetId"],
                             row_count=grid.get("rowCount", 0),
                             col_count=grid.get("columnCount", 0))
    metadata = []
    for data in sheet.get("data") or []:
        r0, c0 = data.get("startRow", 0), data.get("startColumn", 0)
        for i, row_data in enumerate(data.get("rowData") or []):
            _load_row(contents, r0 + i, c0, row_data.get("values") or [])
        for column in data.get("columnMetadata") or []:
            metadata += column.get("developerMetadata") or []
        for row in data.get("rowMetadata") or []:
            metadata += row.get("developerMetadata") or []
            for md in row.get("developerMetadata") or []:
                if md.get("metadataKey", "").startswith(ROW_KEY_PREFIX):
                    contents.anchored_batches.add(md["metadataKey"][len(ROW_KEY_PREFIX):])
    while contents.rows and not contents.rows[-1]:
        contents.rows.pop()  # rows holding only formats (e.g. a text-formatted column) are not data
    contents.width = max((len(row) for row in contents.rows), default=0)
    _load_metadata(contents, metadata)
    return contents


def _load_row(contents: SheetContents, r: int, c0: int, values: list[dict]) -> None:
    rows = contents.rows
    while len(rows) <= r:
        rows.append([])
    row = rows[r]
    for j, cell in enumerate(values):
        c = c0 + j
        while len(row) <= c:
            row.append(None)
        row[c] = cell.get("formattedValue")
        background = (cell.get("userEnteredFormat") or {}).get("backgroundColor")
        if cell.get("note") or background is not None:
            contents.looks[(r, c)] = (cell.get("note"), hex_colour(background))
    while row and row[-1] is None:
        row.pop()


def _load_metadata(contents: SheetContents, metadata: list[dict]) -> None:
    seen = set()
    for md in metadata:
        if md["metadataId"] in seen:
            continue  # an entry spanning several columns is listed under each
        seen.add(md["metadataId"])
        key = md.get("metadataKey", "")
        contents.metadata_characters[key] += len(key) + len(md.get("metadataValue", ""))
        if md.get("metadataKey") == COLUMN_KEY:
            span = (md.get("location") or {}).get("dimensionRange") or {}
            if span.get("sheetId", contents.sheet_id) == contents.sheet_id:
                contents.column_anchors[md.get("metadataValue")].append(
                    (md["metadataId"], span.get("startIndex", 0)))
