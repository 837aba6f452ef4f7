"""Row and column anchors: developer metadata on each submitted row and each result column, so
status lands on the row that was submitted even after the person inserts, deletes or sorts rows;
and the result cells written there in ONE values:batchUpdateByDataFilter, each row addressed by
its anchor (text stays text, links as =HYPERLINK, the preview as =IMAGE())."""
from __future__ import annotations

from typing import Any, Iterable

from server.gsheets.cells import MAX_CELL_CHARACTERS, text_value_request, within_cell
from server.gsheets.contents import COLUMN_KEY, ROW_KEY, ROW_KEY_PREFIX, SheetContents
from server.sheet.cells import text_of
from server.sheet.columns import IMAGE_COLUMNS, RESULT_COLUMNS
from server.sheet.results import result_positions
from server.sheet.statuses import RowStatus
from server.sheet.validation import Report

# Google's limits a batch's start must stay within (Sheets help, "Files you can store in Google
# Drive": "Up to 10 million cells or 18,278 columns"; developer metadata per spreadsheet: the
# 30,000 characters quoted in ../shared/reference/google.md).
MAX_COLUMNS = 18_278
MAX_CELLS = 10_000_000
MAX_METADATA_CHARACTERS = 30_000


class SheetFull(Exception):
    """The sheet cannot take this batch's result columns or row anchors; one line saying what
    to do. Raised before anything is written."""


def check_room(contents: SheetContents, rows: Iterable[int], report: Report,
               forget: Iterable[str] = ()) -> None:
    """Refuse a start the sheet cannot hold, before anything is written: result columns past
    Google's last column or over its cell limit, or row anchors past its metadata limit (old
    anchors of batches in `forget` go first, so they make room)."""
    rows = sorted(set(rows))
    needed = max(placed_columns(contents, report).values()) + 1
    if needed > MAX_COLUMNS:
        raise SheetFull(f"This sheet has no room for the result columns: Google Sheets stops at "
                        f"column ZZZ ({MAX_COLUMNS:,} columns) and they would need {needed:,}. "
                        "Delete unused columns on the right, or copy the prompts to a new tab.")
    cells = contents.row_count * max(needed, contents.col_count)
    if cells > MAX_CELLS:
        raise SheetFull(f"This sheet has no room for the result columns: with them it would "
                        f"hold {cells:,} cells, over Google Sheets' limit of {MAX_CELLS:,}. "
                        "Delete empty rows or columns, or copy the prompts to a new tab.")
    held = sum(contents.metadata_characters.values()) - sum(
        contents.metadata_characters[ROW_KEY.format(batch_id=old)] for old in forget)
    columns = len(RESULT_COLUMNS) * len(COLUMN_KEY) + sum(map(len, RESULT_COLUMNS))
    free = MAX_METADATA_CHARACTERS - held - columns
    wanted = sum(_anchor_size(row) for row in rows)
    if wanted > free:
        fits = max(0, free) // _anchor_size(max(rows, default=1))
        raise SheetFull(f"This sheet can anchor about {fits} more rows now, not {len(rows)}: "
                        "Google limits the row anchors a spreadsheet holds, and an earlier "
                        "batch that was stopped keeps its anchors for a day so that it can be "
                        "resumed. Finish or delete that batch, or start with fewer rows; nothing "
                        "was written.")


def _anchor_size(row: int) -> int:
    """Characters of one row anchor: its key (a batch id has 16 characters) and value."""
    return len(ROW_KEY.format(batch_id="0" * 16)) + len(str(row))


def prepare_requests(contents: SheetContents, batch_id: str, rows: Iterable[int],
                     report: Report) -> list[dict]:
    """Result headers, column and row anchors and a "queued" status for each submitted row."""
    sheet_id = contents.sheet_id
    positions = placed_columns(contents, report)
    requests = []
    needed = max(positions.values()) + 1
    if needed > contents.col_count:
        requests.append({"appendDimension": {"sheetId": sheet_id, "dimension": "COLUMNS",
                                             "length": needed - contents.col_count}})
        contents.col_count = needed
    requests += [text_value_request(sheet_id, 0, column, name)
                 for name, column in positions.items() if name not in report.result_columns]
    requests += _column_anchor_requests(contents, positions)
    key = ROW_KEY.format(batch_id=batch_id)
    for row in sorted(set(rows)):
        requests.append({"createDeveloperMetadata": {"developerMetadata": {
            "metadataKey": key, "metadataValue": str(row), "visibility": "DOCUMENT",
            "location": {"dimensionRange": {"sheetId": sheet_id, "dimension": "ROWS",
                                            "startIndex": row - 1, "endIndex": row}}}}})
        requests.append(text_value_request(sheet_id, row - 1, positions["status"],
                                           RowStatus.QUEUED))
    return requests


def placed_columns(contents: SheetContents, report: Report) -> dict[str, int]:
    """Where a batch started on this sheet puts its result columns (0-based)."""
    return result_positions(report.result_columns, contents.width)


def _column_anchor_requests(contents: SheetContents, positions: dict[str, int]) -> list[dict]:
    """One COLUMN_KEY anchor per result column, exactly where its header is: stray ones
    (e.g. left behind when a header was retyped elsewhere) are deleted so that a later
    search finds each column once."""
    requests = []
    for name, column in positions.items():
        anchors = contents.column_anchors.get(name, [])
        for mid, where in anchors:
            if where != column:
                requests.append({"deleteDeveloperMetadata": {"dataFilter": {
                    "developerMetadataLookup": {"metadataId": mid}}}})
        if not any(where == column for _, where in anchors):
            requests.append({"createDeveloperMetadata": {"developerMetadata": {
                "metadataKey": COLUMN_KEY, "metadataValue": name, "visibility": "DOCUMENT",
                "location": {"dimensionRange": {
                    "sheetId": contents.sheet_id, "dimension": "COLUMNS",
                    "startIndex": column, "endIndex": column + 1}}}}})
    return requests


def column_search() -> dict:
    """The body of ONE developerMetadata:search for every result column's anchor."""
    return {"dataFilters": [{"developerMetadataLookup": {"metadataKey": COLUMN_KEY}}]}


def found_columns(found: dict, sheet_id: int | None) -> dict[str, int]:
    """Result column name → current 0-based column on `sheet_id` (None: the sheet that holds
    the status column), from the search's answer."""
    by_sheet: dict[int, dict[str, int]] = {}
    for match in found.get("matchedDeveloperMetadata") or []:
        md = match["developerMetadata"]
        span = (md.get("location") or {}).get("dimensionRange")
        if span and md.get("metadataKey") == COLUMN_KEY:
            by_sheet.setdefault(span.get("sheetId", 0), {}).setdefault(
                md.get("metadataValue", ""), span.get("startIndex", 0))
    if sheet_id is None:
        sheet_id = next((sheet for sheet, names in by_sheet.items() if "status" in names), None)
    return by_sheet.get(sheet_id, {})


def header_columns(answer: dict) -> dict[str, int]:
    """Result column name → 0-based column, from a values:batchGetByDataFilter of row 1."""
    ranges = answer.get("valueRanges") or [{}]
    header = (ranges[0].get("valueRange", {}).get("values") or [[]])[0]
    columns: dict[str, int] = {}
    for column, name in enumerate(header):
        if text_of(name) in RESULT_COLUMNS:  # as validation reads them (read_header)
            columns.setdefault(text_of(name), column)
    return columns


def result_data(results: dict[str, dict[int, dict[str, Any]]], columns: dict[str, int]
                ) -> tuple[list[dict], list[tuple[str, int]]]:
    """One DataFilterValueRange per row, addressed by its row anchor (Google finds the row
    wherever it is now), and the (batch, row) each one is for, in the same order. Each row's
    values skip (null) every column up to its result cells, so the person's cells are untouched."""
    data, order = [], []
    for batch_id, by_row in results.items():
        for row, cells in by_row.items():
            placed = {columns[name]: _result_value(name, value)
                      for name, value in cells.items() if name in columns}
            if not placed:
                continue
            values = [placed.get(column) for column in range(max(placed) + 1)]
            data.append({"dataFilter": {"developerMetadataLookup": {
                "locationType": "ROW", "metadataKey": ROW_KEY.format(batch_id=batch_id),
                "metadataValue": str(row)}}, "majorDimension": "ROWS", "values": [values]})
            order.append((batch_id, row))
    return data, order


def written_rows(answer: dict) -> set[tuple[str, int]]:
    """The (batch, row) pairs a values:batchUpdateByDataFilter answer says it wrote: a row
    anchor that matched nothing (its row was deleted) has no response."""
    written = set()
    for response in answer.get("responses") or []:
        lookup = (response.get("dataFilter") or {}).get("developerMetadataLookup") or {}
        key = lookup.get("metadataKey", "")
        if key.startswith(ROW_KEY_PREFIX):
            written.add((key[len(ROW_KEY_PREFIX):], int(lookup["metadataValue"])))
    return written


def clear_request(batch_id: str) -> dict:
    return {"deleteDeveloperMetadata": {"dataFilter": {
        "developerMetadataLookup": {"metadataKey": ROW_KEY.format(batch_id=batch_id)}}}}


def clear_columns_request() -> dict:
    return {"deleteDeveloperMetadata": {"dataFilter": {
        "developerMetadataLookup": {"metadataKey": COLUMN_KEY}}}}


def _result_value(name: str, value: Any) -> Any:
    """One result as typed into the UI (the write is USER_ENTERED, for the formulas): text gets
    the leading apostrophe that keeps it text, so nothing of ours or the person's (a prompt,
    an error) becomes a formula or a number; links are =HYPERLINK, the preview =IMAGE; ""
    clears the cell."""
    if value is None or value == "":
        return ""
    if isinstance(value, (list, tuple)):
        value = ", ".join(map(str, value))
    if isinstance(value, (bool, int, float)):
        return value
    text = str(value)
    if name == "preview":
        return f'=IMAGE("{_formula_text(text)}")'
    if name in IMAGE_COLUMNS and text.startswith(("https://", "http://")):
        return f'=HYPERLINK("{_formula_text(text)}", "{_formula_text(text)}")'
    return "'" + within_cell(text, MAX_CELL_CHARACTERS - 1)  # the apostrophe counts too


def _formula_text(text: str) -> str:
    return text.replace('"', '""')
