"""A Google Sheet behind the same small interface as the workbook grid.

Every operation is a fixed number of Sheets API requests, whatever the number of rows (Google
allows 60 reads and 60 writes per minute per user): reading is one request, marking one
batchUpdate, and so on. Operations that build on what a read saw take its `SheetContents`.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import gspread

from server.gsheets import anchors
from server.gsheets.cells import text_format_request, text_value_request
from server.gsheets.client import Spreadsheet, status_of
from server.gsheets.contents import SheetContents, contents_of
from server.gsheets.marks import MarkMemory, mark_requests
from server.gsheets.template_tab import template_tab_requests
from server.sheet.cells import time_converted_ratio
from server.sheet.marks import header_renames
from server.sheet.validation import Report

READ_FIELDS = ("sheets(properties(sheetId,title,gridProperties(rowCount,columnCount)),"
               "data(startRow,startColumn,rowData(values(formattedValue,note,"
               "userEnteredFormat.backgroundColor)),"
               "rowMetadata(developerMetadata(metadataId,metadataKey,metadataValue)),"
               "columnMetadata(developerMetadata(metadataId,metadataKey,metadataValue,location))))")


class SheetGrid:
    def __init__(self, client: gspread.Client, spreadsheet_id: str, sheet_id: int | None = None,
                 *, retry: Mapping[str, Any] | None = None, memory: MarkMemory | None = None,
                 deadline: float | None = None):
        self.spreadsheet = Spreadsheet(client, spreadsheet_id, retry, deadline)
        self.sheet_id = sheet_id
        self.memory = memory  # needed to read and mark (validation); write-back does without

    @property
    def spreadsheet_id(self) -> str:
        return self.spreadsheet.id

    def read(self) -> SheetContents:
        """The chosen sheet's cells as shown (formattedValue), in ONE request."""
        params = {"fields": READ_FIELDS}
        if self.sheet_id is None:
            # Without a sheet id we cannot name the first sheet in a filter, so this one GET
            # returns every tab's cells; callers that know the tab should pass its id.
            answer = self.spreadsheet.call("get", params={**params, "includeGridData": "true"})
        else:
            body = {"dataFilters": [{"gridRange": {"sheetId": self.sheet_id}}],
                    "includeGridData": True}
            answer = self.spreadsheet.call("post", ":getByDataFilter", params=params, json=body)
        contents = contents_of(answer["sheets"][0])
        self.sheet_id = contents.sheet_id
        if self.memory:
            contents.marks = self.memory.load(self.spreadsheet_id, contents.sheet_id)
        return contents

    def mark(self, contents: SheetContents, report: Report) -> None:
        """Undo our previous marks, show the new ones: ONE batchUpdate (none if nothing
        changes); then remember them, once they are on the sheet."""
        if self.memory is None:
            raise TypeError("SheetGrid needs a MarkMemory to mark a sheet")
        requests = mark_requests(contents, report)
        if requests:
            self.spreadsheet.batch_update(requests)
        self.memory.save(self.spreadsheet_id, contents.sheet_id, contents.marks)

    def fix(self, contents: SheetContents, report: Report) -> int:
        """Rename each header that means one of our columns to its exact name, rewrite each
        time-converted ratio as text and make that column plain text: ONE batchUpdate (none
        when nothing needs fixing). Returns the number of cells fixed."""
        requests = [text_value_request(contents.sheet_id, 0, column, name)
                    for column, name in header_renames(report).items()]
        fixed = len(requests)
        column = report.columns.get("aspect_ratio")
        ratios = [(problem.row, ratio) for problem in report.warnings
                  if problem.column == "aspect_ratio" and problem.row
                  and (ratio := time_converted_ratio(problem.value))]
        if column is not None and ratios:
            requests.append(text_format_request(contents.sheet_id, column, 1, contents.row_count))
            requests += [text_value_request(contents.sheet_id, row - 1, column, ratio)
                         for row, ratio in ratios]
            fixed += len(ratios)
        if requests:
            self.spreadsheet.batch_update(requests)
        return fixed

    def insert_template(self, full: bool = True) -> tuple[int, str]:
        """Add a ready-to-fill tab: one metadata GET (for free titles and ids) + ONE batchUpdate."""
        existing = self.spreadsheet.call(
            "get", params={"fields": "sheets.properties(sheetId,title)"})
        sheet_id, title, requests = template_tab_requests(
            [sheet["properties"] for sheet in existing.get("sheets") or []], full)
        self.spreadsheet.batch_update(requests)
        return sheet_id, title

    def prepare_batch(self, contents: SheetContents, batch_id: str, rows: Iterable[int],
                      report: Report, forget: Iterable[str] = ()) -> None:
        """Result headers, column and row anchors, "queued" statuses, and the deletion of the
        row anchors of the batches in `forget`: ONE batchUpdate."""
        # Old anchors go first: Google applies the requests in order, and the room they free
        # may be what the new ones need. All or nothing: a refusal leaves the sheet as it was.
        requests = [anchors.clear_request(old) for old in forget]
        requests += anchors.prepare_requests(contents, batch_id, rows, report)
        try:
            self.spreadsheet.batch_update(requests)
        except gspread.exceptions.APIError as error:
            if status_of(error) != 400:
                raise
            raise anchors.SheetFull(f"Google Sheets refused to prepare the sheet for the batch "
                                    f"({error.error.get('message', 'HTTP 400')}); nothing was "
                                    "written and nothing will be paid.") from None

    def result_columns(self) -> dict[str, int]:
        """Result column name → current 0-based column: ONE developerMetadata:search (write-back
        caches the answer, see `write_results`)."""
        found = self.spreadsheet.call("post", "/developerMetadata:search",
                                      json=anchors.column_search())
        columns = anchors.found_columns(found, self.sheet_id)
        if "status" in columns:
            return columns
        # Their anchors went with the last batch's (see clear_batch_anchors): the headers say.
        body = {"dataFilters": [{"gridRange": {"sheetId": self.sheet_id or 0,
                                               "startRowIndex": 0, "endRowIndex": 1}}]}
        header = self.spreadsheet.call("post", "/values:batchGetByDataFilter", json=body)
        return anchors.header_columns(header)

    def write_results(self, results: dict[str, dict[int, dict[str, Any]]],
                      columns: dict[str, int] | None = None) -> set[tuple[str, int]]:
        """batch → submitted row → {result column: value}, at the result `columns` (None: look
        them up first, one more request): ONE values:batchUpdateByDataFilter, each row found by
        its anchor wherever sorts, inserts and deletes have put it. Returns the (batch, row)
        pairs whose row was deleted; they are skipped."""
        if not any(results.values()):
            return set()
        data, order = anchors.result_data(
            results, self.result_columns() if columns is None else columns)
        if not data:
            return set()
        # USER_ENTERED only for the =IMAGE and =HYPERLINK formulas: text is quoted (see anchors).
        answer = self.spreadsheet.call("post", "/values:batchUpdateByDataFilter", json={
            "valueInputOption": "USER_ENTERED", "data": data})
        return set(order) - anchors.written_rows(answer)

    def clear_batch_anchors(self, batch_id: str, columns_too: bool = False) -> None:
        """Forget a finished batch's row anchors, and the result columns' anchors when no other
        batch uses them (so nothing of ours is left on the sheet): ONE batchUpdate."""
        requests = [anchors.clear_request(batch_id)]
        if columns_too:
            requests.append(anchors.clear_columns_request())
        self.spreadsheet.batch_update(requests)
