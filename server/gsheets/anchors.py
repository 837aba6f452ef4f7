"""Row and column anchors: developer metadata on each submitted row and each result column, so
status lands on the row that was submitted even after the person inserts, deletes or sorts rows;
and the result cells written there (text RAW, links as links, the preview as =IMAGE())."""
from __future__ import annotations

from typing import Any, Iterable

from server.gsheets.cells import text_value_request, typed_value
from server.gsheets.contents import COLUMN_KEY, ROW_KEY, ROW_KEY_PREFIX, SheetContents
from server.sheet.columns import IMAGE_COLUMNS
from server.sheet.results import result_positions
from server.sheet.statuses import RowStatus
from server.sheet.validation import Report


def prepare_requests(contents: SheetContents, batch_id: str, rows: Iterable[int],
                     report: Report) -> list[dict]:
    """Result headers, column and row anchors and a "queued" status for each submitted row."""
    sheet_id = contents.sheet_id
    positions = result_positions(report.result_columns, contents.width)
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


def anchor_search(batch_ids: list[str]) -> dict:
    """The body of ONE developerMetadata:search for these batches' rows and every result column."""
    filters = [{"developerMetadataLookup": {"metadataKey": ROW_KEY.format(batch_id=b)}}
               for b in batch_ids]
    filters.append({"developerMetadataLookup": {"metadataKey": COLUMN_KEY}})
    return {"dataFilters": filters}


def found_anchors(found: dict) -> tuple[dict, dict]:
    """(batch, submitted row) → (sheetId, current 0-based row) and (sheetId, column name) →
    current 0-based column, from the search's answer."""
    rows, columns = {}, {}
    for match in found.get("matchedDeveloperMetadata") or []:
        md = match["developerMetadata"]
        span = (md.get("location") or {}).get("dimensionRange")
        if not span:
            continue
        where = (span.get("sheetId", 0), span.get("startIndex", 0))
        key, value = md.get("metadataKey", ""), md.get("metadataValue", "")
        if key == COLUMN_KEY:
            columns.setdefault((where[0], value), where[1])
        elif key.startswith(ROW_KEY_PREFIX) and value.isdigit():
            rows.setdefault((key[len(ROW_KEY_PREFIX):], int(value)), where)
    return rows, columns


def result_requests(results: dict[str, dict[int, dict[str, Any]]], rows: dict,
                    columns: dict) -> tuple[list[dict], set[tuple[str, int]]]:
    """updateCells for every row's result cells where its anchors are now, and the (batch, row)
    pairs whose row was deleted."""
    missing, requests = set(), []
    for batch_id, by_row in results.items():
        for row, cells in by_row.items():
            anchor = rows.get((batch_id, row))
            if anchor is None:
                missing.add((batch_id, row))
                continue
            sheet_id, index = anchor
            placed = {columns[(sheet_id, name)]: (name, value) for name, value in cells.items()
                      if (sheet_id, name) in columns}
            requests += _row_requests(sheet_id, index, placed)
    return requests, missing


def clear_request(batch_id: str) -> dict:
    return {"deleteDeveloperMetadata": {"dataFilter": {
        "developerMetadataLookup": {"metadataKey": ROW_KEY.format(batch_id=batch_id)}}}}


def _row_requests(sheet_id: int, row: int, placed: dict[int, tuple[str, Any]]) -> list[dict]:
    """updateCells for one row's result cells, one request per run of adjacent columns."""
    requests, run = [], []
    for column in sorted(placed):
        if run and column != run[-1] + 1:
            requests.append(_run_request(sheet_id, row, run, placed))
            run = []
        run.append(column)
    if run:
        requests.append(_run_request(sheet_id, row, run, placed))
    return requests


def _run_request(sheet_id: int, row: int, run: list[int], placed: dict) -> dict:
    return {"updateCells": {
        "start": {"sheetId": sheet_id, "rowIndex": row, "columnIndex": run[0]},
        "rows": [{"values": [_result_cell(*placed[c]) for c in run]}],
        # The link is in the mask for every cell so a cleared image cell loses its link too.
        "fields": "userEnteredValue,userEnteredFormat.textFormat.link"}}


def _result_cell(name: str, value: Any) -> dict:
    """CellData for one result: RAW semantics (text stays text), except the preview formula."""
    if value is None or value == "":
        return {}  # the field is in the mask, so this clears the cell
    if name == "preview":
        url = str(value).replace('"', '""')
        return {"userEnteredValue": {"formulaValue": f'=IMAGE("{url}")'}}
    cell = typed_value(", ".join(map(str, value)) if isinstance(value, (list, tuple)) else value)
    if name in IMAGE_COLUMNS and str(value).startswith(("https://", "http://")):
        cell["userEnteredFormat"] = {"textFormat": {"link": {"uri": str(value)}}}
    return cell
