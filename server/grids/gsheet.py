"""A Google Sheet behind the same small interface as the workbook grid.

Every operation is a fixed number of Sheets API requests, whatever the number of rows (Google
allows 60 reads and 60 writes per minute per user): reading is one request, marking one
batchUpdate, and so on. Cells we mark and rows we submit are remembered in developer metadata
in the spreadsheet itself, so any backend process can undo marks or find a row again later.
"""
from __future__ import annotations

import hashlib
import json
import random
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

import gspread

from server.grids.table import ERROR_COLOUR, WARNING_COLOUR, Table
from server.results import result_positions
from server.schema import (
    COLUMNS_BY_NAME,
    MAX_SEED,
    MAX_SHEET_ROWS,
    CellWarning,
    Problem,
    Report,
    column_letter,
    parse_aspect_ratio,
)
from server.sheets import SheetAccessError, acting_as, call_with_retries, status_of
from server.template import TEXT_COLUMNS, template_rows

MARK_KEY = "sheetbatch.marks"          # sheet-located metadata remembering our marks
ROW_KEY = "sheetbatch.row.{batch_id}"  # per submitted row, value = the row number at submission
COLUMN_KEY = "sheetbatch.column"       # per result column, value = its name
ROW_KEY_PREFIX = ROW_KEY.format(batch_id="")

OUR_COLOURS = (ERROR_COLOUR, WARNING_COLOUR)
MARKS_CHUNK = 25_000  # a metadata value may hold 30,000 characters; keep a margin
TEMPLATE_TITLE = "Batch template"
LINK_COLUMNS = ("image_1", "image_2", "image_3", "image_4")
TEXT_FORMAT = {"numberFormat": {"type": "TEXT", "pattern": "@"}}

API = "https://sheets.googleapis.com/v4/spreadsheets"
READ_FIELDS = ("sheets(properties(sheetId,title,gridProperties(rowCount,columnCount)),"
               "data(startRow,startColumn,rowData(values(formattedValue,note,"
               "userEnteredFormat.backgroundColor)),"
               "columnMetadata(developerMetadata(metadataId,metadataKey,metadataValue,location))),"
               "developerMetadata(metadataId,metadataKey,metadataValue,location))")
_A1 = re.compile(r"([A-Z]+)(\d+)")


class SheetGrid:
    def __init__(self, client: gspread.Client, spreadsheet_id: str, sheet_id: int | None = None,
                 *, retry: Mapping[str, Any] | None = None):
        self.client = client
        self.spreadsheet_id = spreadsheet_id
        self.sheet_id = sheet_id
        self.title: str | None = None
        self.retry = dict(retry or {})  # call_with_retries options (tests pass a fake sleep)
        self.row_count = self.col_count = self.width = 0
        self._cells: dict[tuple[int, int], tuple[str | None, str | None]] = {}
        self._mark_metadata: list[int] = []
        self._marks: dict[str, dict] = {}
        self._column_metadata: dict[str, list[tuple[int, int]]] = defaultdict(list)

    # --- transport ---------------------------------------------------------------------
    def _call(self, method: str, path: str, **kwargs: Any) -> dict:
        """One API request, retried on transient errors; access problems in plain English."""
        url = f"{API}/{self.spreadsheet_id}{path}"

        def send() -> dict:
            return self.client.http_client.request(method, url, **kwargs).json()
        try:
            return call_with_retries(send, **self.retry)
        except gspread.exceptions.APIError as error:
            if status_of(error) in (401, 403, 404):
                raise SheetAccessError.from_api_error(
                    error, self.spreadsheet_id, acting_as(self.client)) from error
            raise

    def _batch_update(self, requests: list[dict]) -> dict:
        return self._call("post", ":batchUpdate", json={"requests": requests})

    # --- read ------------------------------------------------------------------------------
    def read(self) -> Table:
        """The chosen sheet's cells as shown (formattedValue), in ONE request."""
        params = {"fields": READ_FIELDS}
        if self.sheet_id is None:
            # Without a sheet id we cannot name the first sheet in a filter, so this one GET
            # returns every tab's cells; callers that know the tab should pass its id.
            sheet = self._call("get", "", params={**params, "includeGridData": "true"})["sheets"][0]
        else:
            body = {"dataFilters": [{"gridRange": {"sheetId": self.sheet_id}}],
                    "includeGridData": True}
            sheet = self._call("post", ":getByDataFilter", params=params, json=body)["sheets"][0]
        return self._load(sheet)

    def _load(self, sheet: dict) -> Table:
        props = sheet["properties"]
        self.sheet_id, self.title = props["sheetId"], props["title"]
        grid = props.get("gridProperties") or {}
        self.row_count, self.col_count = grid.get("rowCount", 0), grid.get("columnCount", 0)
        self._cells = {}
        rows: list[list[Any]] = []
        metadata = list(sheet.get("developerMetadata") or [])
        for data in sheet.get("data") or []:
            r0, c0 = data.get("startRow", 0), data.get("startColumn", 0)
            for i, row_data in enumerate(data.get("rowData") or []):
                self._load_row(r0 + i, c0, row_data.get("values") or [], rows)
            for column in data.get("columnMetadata") or []:
                metadata += column.get("developerMetadata") or []
        while rows and not rows[-1]:
            rows.pop()  # rows holding only formats (e.g. a text-formatted column) are not data
        self.width = max((len(row) for row in rows), default=0)
        self._load_metadata(metadata)
        return Table(self.title, rows)

    def _load_row(self, r: int, c0: int, values: list[dict], rows: list[list[Any]]) -> None:
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
                self._cells[(r, c)] = (cell.get("note"), _hex(background))
        while row and row[-1] is None:
            row.pop()

    def _load_metadata(self, metadata: list[dict]) -> None:
        self._mark_metadata, self._marks = [], {}
        self._column_metadata = defaultdict(list)
        seen = set()
        for md in metadata:
            if md["metadataId"] in seen:
                continue  # the same entry may be listed both per sheet and per column
            seen.add(md["metadataId"])
            key = md.get("metadataKey")
            if key == MARK_KEY:
                self._mark_metadata.append(md["metadataId"])
                self._marks.update(_decode_marks(md.get("metadataValue")))
            elif key == COLUMN_KEY:
                span = (md.get("location") or {}).get("dimensionRange") or {}
                if span.get("sheetId", self.sheet_id) == self.sheet_id:
                    self._column_metadata[md.get("metadataValue")].append(
                        (md["metadataId"], span.get("startIndex", 0)))

    # --- mark ------------------------------------------------------------------------------
    def mark(self, report: Report) -> None:
        """Undo our previous marks, show the new ones, remember them: ONE batchUpdate (none if
        there was nothing marked and nothing to mark). Call read() first."""
        base = self._undo_plan()
        wanted = _wanted_marks(report)
        final: dict[tuple[int, int], tuple[str | None, str | None]] = dict(base)
        remembered: dict[str, dict] = {}
        for cell, (note, colour) in wanted.items():
            original = base.get(cell, self._cells.get(cell, (None, None)))
            final[cell] = (note, colour)
            remembered[_a1(*cell)] = _mark_entry(note, *original)
        changed = {cell: look for cell, look in final.items()
                   if self._cells.get(cell, (None, None)) != look}
        requests = [_style_request(self.sheet_id, run, *look)
                    for run, look in _vertical_runs(changed)]
        requests += [{"deleteDeveloperMetadata": {"dataFilter": {"developerMetadataLookup": {
            "metadataId": mid}}}} for mid in self._mark_metadata]
        requests += [{"createDeveloperMetadata": {"developerMetadata": {
            "metadataKey": MARK_KEY, "metadataValue": chunk, "visibility": "DOCUMENT",
            "location": {"sheetId": self.sheet_id}}}} for chunk in _encode_marks(remembered)]
        if requests:
            self._batch_update(requests)
        self._cells.update(final)
        self._marks, self._mark_metadata = remembered, []

    def _undo_plan(self) -> dict[tuple[int, int], tuple[str | None, str | None]]:
        """Cell → the person's (note, background) to put back, for each cell that still shows
        exactly our mark. A cell the person changed since is theirs now: left alone."""
        plan = {}
        for address, entry in self._marks.items():
            cell = _cell(address)
            note, colour = self._cells.get(cell, (None, None))
            if colour in OUR_COLOURS and _digest(note) == entry.get("h"):
                plan[cell] = (entry.get("n"), entry.get("b"))
        return plan

    # --- aspect-ratio fix --------------------------------------------------------------------
    def fix_aspect_ratios(self, report: Report) -> int:
        """Rewrite each time-converted ratio as text and make the column plain text: ONE
        batchUpdate (none when nothing needs fixing). Call read() first."""
        column = report.columns.get("aspect_ratio")
        fixes = [(problem.row, ratio) for problem in report.warnings
                 if problem.column == "aspect_ratio" and problem.row
                 and (ratio := _ratio_of(problem.value))]
        if column is None or not fixes:
            return 0
        requests = [_text_format_request(self.sheet_id, column, 1, self.row_count)]
        requests += [{"updateCells": {
            "range": _grid_range(self.sheet_id, row - 1, column),
            "rows": [{"values": [{"userEnteredValue": {"stringValue": ratio}}]}],
            "fields": "userEnteredValue"}} for row, ratio in fixes]
        self._batch_update(requests)
        return len(fixes)

    # --- template ------------------------------------------------------------------------------
    def insert_template(self, full: bool = True) -> tuple[int, str]:
        """Add a ready-to-fill tab: one metadata GET (for free titles and ids) + ONE batchUpdate."""
        existing = self._call("get", "", params={"fields": "sheets.properties(sheetId,title)"})
        props = [sheet["properties"] for sheet in existing.get("sheets") or []]
        title = _free_title({p["title"].lower() for p in props})
        sheet_id = _free_sheet_id({p["sheetId"] for p in props})
        rows = template_rows(full)
        names = rows[0]
        requests = [{"addSheet": {"properties": {
            "sheetId": sheet_id, "title": title,
            "gridProperties": {"rowCount": MAX_SHEET_ROWS, "columnCount": 26,
                               "frozenRowCount": 1}}}}]
        requests += [_text_format_request(sheet_id, names.index(name), 0, MAX_SHEET_ROWS)
                     for name in TEXT_COLUMNS if name in names]
        requests.append({"updateCells": {
            "start": {"sheetId": sheet_id, "rowIndex": 0, "columnIndex": 0},
            "rows": [{"values": [_typed_value(value) for value in row]} for row in rows],
            "fields": "userEnteredValue"}})
        requests.append({"repeatCell": {
            "range": {"sheetId": sheet_id, "startRowIndex": 0, "endRowIndex": 1,
                      "startColumnIndex": 0, "endColumnIndex": len(names)},
            "cell": {"userEnteredFormat": {"textFormat": {"bold": True}}},
            "fields": "userEnteredFormat.textFormat.bold"}})
        requests += [{"setDataValidation": {
            "range": {"sheetId": sheet_id, "startRowIndex": 1, "endRowIndex": MAX_SHEET_ROWS,
                      "startColumnIndex": index, "endColumnIndex": index + 1},
            "rule": rule}} for index, name in enumerate(names)
            if (rule := _validation_rule(name)) is not None]
        self._batch_update(requests)
        return sheet_id, title

    # --- batch write-back ------------------------------------------------------------------------
    def prepare_batch(self, batch_id: str, rows: Iterable[int], report: Report) -> None:
        """Result headers, column and row anchors, "queued" statuses: ONE batchUpdate.
        Call read() first (its width and column anchors are used)."""
        rows = sorted(set(rows))
        positions = result_positions(report.result_columns, self.width)
        requests = []
        needed = max(positions.values()) + 1
        if needed > self.col_count:
            requests.append({"appendDimension": {"sheetId": self.sheet_id,
                                                 "dimension": "COLUMNS",
                                                 "length": needed - self.col_count}})
            self.col_count = needed
        requests += [{"updateCells": {
            "range": _grid_range(self.sheet_id, 0, column),
            "rows": [{"values": [{"userEnteredValue": {"stringValue": name}}]}],
            "fields": "userEnteredValue"}}
            for name, column in positions.items() if name not in report.result_columns]
        requests += self._column_anchor_requests(positions)
        key = ROW_KEY.format(batch_id=batch_id)
        for row in rows:
            requests.append({"createDeveloperMetadata": {"developerMetadata": {
                "metadataKey": key, "metadataValue": str(row), "visibility": "DOCUMENT",
                "location": {"dimensionRange": {"sheetId": self.sheet_id, "dimension": "ROWS",
                                                "startIndex": row - 1, "endIndex": row}}}}})
            requests.append({"updateCells": {
                "range": _grid_range(self.sheet_id, row - 1, positions["status"]),
                "rows": [{"values": [{"userEnteredValue": {"stringValue": "queued"}}]}],
                "fields": "userEnteredValue"}})
        self._batch_update(requests)

    def _column_anchor_requests(self, positions: dict[str, int]) -> list[dict]:
        """One COLUMN_KEY anchor per result column, exactly where its header is: stray ones
        (e.g. left behind when a header was retyped elsewhere) are deleted so that a later
        search finds each column once."""
        requests = []
        for name, column in positions.items():
            anchors = self._column_metadata.get(name, [])
            for mid, where in anchors:
                if where != column:
                    requests.append({"deleteDeveloperMetadata": {"dataFilter": {
                        "developerMetadataLookup": {"metadataId": mid}}}})
            if not any(where == column for _, where in anchors):
                requests.append({"createDeveloperMetadata": {"developerMetadata": {
                    "metadataKey": COLUMN_KEY, "metadataValue": name, "visibility": "DOCUMENT",
                    "location": {"dimensionRange": {
                        "sheetId": self.sheet_id, "dimension": "COLUMNS",
                        "startIndex": column, "endIndex": column + 1}}}}})
        return requests

    def write_results(self, results: dict[str, dict[int, dict[str, Any]]]
                      ) -> set[tuple[str, int]]:
        """batch → submitted row → {result column: value}. ONE metadata search (where are the
        rows and columns now?) + ONE batchUpdate. Returns the (batch, row) pairs whose row was
        deleted; they are skipped."""
        if not any(results.values()):
            return set()
        rows, columns = self._find_anchors(list(results))
        missing, requests = set(), []
        for batch_id, by_row in results.items():
            for row, cells in by_row.items():
                anchor = rows.get((batch_id, row))
                if anchor is None:
                    missing.add((batch_id, row))
                    continue
                sheet_id, index = anchor
                placed = {columns[(sheet_id, name)]: value for name, value in cells.items()
                          if (sheet_id, name) in columns}
                names = {columns[(sheet_id, name)]: name for name in cells
                         if (sheet_id, name) in columns}
                requests += _row_requests(sheet_id, index, placed, names)
        if requests:
            self._batch_update(requests)
        return missing

    def _find_anchors(self, batch_ids: list[str]):
        """(batch, submitted row) → (sheetId, current 0-based row) and (sheetId, column name) →
        current 0-based column, from ONE developerMetadata:search."""
        filters = [{"developerMetadataLookup": {"metadataKey": ROW_KEY.format(batch_id=b)}}
                   for b in batch_ids]
        filters.append({"developerMetadataLookup": {"metadataKey": COLUMN_KEY}})
        found = self._call("post", "/developerMetadata:search", json={"dataFilters": filters})
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

    def clear_batch_anchors(self, batch_id: str) -> None:
        """Forget a finished batch's row anchors: ONE batchUpdate."""
        self._batch_update([{"deleteDeveloperMetadata": {"dataFilter": {
            "developerMetadataLookup": {"metadataKey": ROW_KEY.format(batch_id=batch_id)}}}}])


# --- marks ------------------------------------------------------------------------------------
def _wanted_marks(report: Report) -> dict[tuple[int, int], tuple[str, str]]:
    """0-based cell → (note, colour): problems sharing a cell share one note; red wins."""
    found: dict[tuple[int, int], list[tuple[bool, Problem]]] = defaultdict(list)
    for is_error, problems in ((True, report.errors), (False, report.warnings)):
        for problem in problems:
            found[_anchor(problem)].append((is_error, problem))
    return {cell: ("\n".join(problem.message for _, problem in items),
                   ERROR_COLOUR if any(is_error for is_error, _ in items) else WARNING_COLOUR)
            for cell, items in found.items()}


def _anchor(problem: Problem) -> tuple[int, int]:
    """Where a problem is shown, 0-based: its cell, its header cell, or A1 for the sheet."""
    if problem.col_index is None:
        return 0, 0
    return (problem.row or 1) - 1, problem.col_index


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


def _decode_marks(value: str | None) -> dict[str, dict]:
    try:
        marks = json.loads(value or "{}")
    except ValueError:
        return {}  # damaged by hand: nothing we can safely undo
    return {k: v for k, v in marks.items() if isinstance(v, dict) and _A1.fullmatch(k)} \
        if isinstance(marks, dict) else {}


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
        value["userEnteredFormat"] = {"backgroundColor": _rgb(colour)}
    (row, column), end = run[0], run[-1][0] + 1
    return {"repeatCell": {"range": {"sheetId": sheet_id, "startRowIndex": row,
                                     "endRowIndex": end, "startColumnIndex": column,
                                     "endColumnIndex": column + 1},
                           "cell": value, "fields": "note,userEnteredFormat.backgroundColor"}}


# --- cells and values ----------------------------------------------------------------------------
def _row_requests(sheet_id: int, row: int, placed: dict[int, Any],
                  names: dict[int, str]) -> list[dict]:
    """updateCells for one row's result cells, one request per run of adjacent columns."""
    requests, run = [], []
    for column in sorted(placed):
        if run and column != run[-1] + 1:
            requests.append(_run_request(sheet_id, row, run, placed, names))
            run = []
        run.append(column)
    if run:
        requests.append(_run_request(sheet_id, row, run, placed, names))
    return requests


def _run_request(sheet_id, row, run, placed, names) -> dict:
    return {"updateCells": {
        "start": {"sheetId": sheet_id, "rowIndex": row, "columnIndex": run[0]},
        "rows": [{"values": [_result_cell(names[c], placed[c]) for c in run]}],
        # The link is in the mask for every cell so a cleared image cell loses its link too.
        "fields": "userEnteredValue,userEnteredFormat.textFormat.link"}}


def _result_cell(name: str, value: Any) -> dict:
    """CellData for one result: RAW semantics (text stays text), except the preview formula."""
    if value is None or value == "":
        return {}  # the field is in the mask, so this clears the cell
    if name == "preview":
        url = str(value).replace('"', '""')
        return {"userEnteredValue": {"formulaValue": f'=IMAGE("{url}")'}}
    cell = _typed_value(", ".join(map(str, value)) if isinstance(value, (list, tuple)) else value)
    if name in LINK_COLUMNS and str(value).startswith(("https://", "http://")):
        cell["userEnteredFormat"] = {"textFormat": {"link": {"uri": str(value)}}}
    return cell


def _typed_value(value: Any) -> dict:
    """A value as userEnteredValue without any parsing: a string is always a stringValue."""
    if value is None:
        return {}
    if isinstance(value, bool):
        return {"userEnteredValue": {"boolValue": value}}
    if isinstance(value, (int, float)):
        return {"userEnteredValue": {"numberValue": value}}
    return {"userEnteredValue": {"stringValue": str(value)}}


def _ratio_of(value: Any) -> str | None:
    try:
        parse_aspect_ratio(value)
    except CellWarning as warning:
        return warning.normalised
    except ValueError:
        return None
    return None


def _validation_rule(name: str) -> dict | None:
    column = COLUMNS_BY_NAME.get(name)
    if column is None:
        return None
    if name in ("num_images", "seed_number"):
        low, high = (1, 4) if name == "num_images" else (0, MAX_SEED)
        return {"condition": {"type": "NUMBER_BETWEEN", "values": [
            {"userEnteredValue": str(low)}, {"userEnteredValue": str(high)}]},
            "inputMessage": f"A whole number from {low} to {high}", "strict": True}
    if not column.choices:
        return None
    # Hex colours are allowed beside the presets, so that dropdown only suggests.
    return {"condition": {"type": "ONE_OF_LIST", "values": [
        {"userEnteredValue": choice} for choice in column.choices]},
        "inputMessage": column.description, "strict": name != "color_palette",
        "showCustomUi": True}


def _text_format_request(sheet_id: int, column: int, first_row: int, end_row: int) -> dict:
    return {"repeatCell": {
        "range": {"sheetId": sheet_id, "startRowIndex": first_row, "endRowIndex": end_row,
                  "startColumnIndex": column, "endColumnIndex": column + 1},
        "cell": {"userEnteredFormat": TEXT_FORMAT},
        "fields": "userEnteredFormat.numberFormat"}}


def _free_title(taken_lower: set[str]) -> str:
    title, n = TEMPLATE_TITLE, 1
    while title.lower() in taken_lower:  # Sheets compares tab names case-insensitively
        n += 1
        title = f"{TEMPLATE_TITLE} {n}"
    return title


def _free_sheet_id(taken: set[int]) -> int:
    """We choose the id so later sub-requests of the same batch can address the new tab."""
    while True:
        sheet_id = random.randint(1, 2**31 - 1)
        if sheet_id not in taken:
            return sheet_id


def _grid_range(sheet_id: int, row: int, column: int) -> dict:
    return {"sheetId": sheet_id, "startRowIndex": row, "endRowIndex": row + 1,
            "startColumnIndex": column, "endColumnIndex": column + 1}


def _a1(row: int, column: int) -> str:
    return f"{column_letter(column)}{row + 1}"


def _cell(address: str) -> tuple[int, int]:
    letters, digits = _A1.fullmatch(address).groups()
    column = 0
    for letter in letters:
        column = column * 26 + ord(letter) - 64
    return int(digits) - 1, column - 1


def _hex(colour: dict | None) -> str | None:
    """A Sheets Color as RRGGBB (missing components are 0, as the API omits zeros)."""
    if colour is None:
        return None
    return "".join(f"{round(float(colour.get(part, 0)) * 255):02X}"
                   for part in ("red", "green", "blue"))


def _rgb(hex_colour: str) -> dict:
    return {part: int(hex_colour[i:i + 2], 16) / 255
            for part, i in (("red", 0), ("green", 2), ("blue", 4))}


__all__ = ["COLUMN_KEY", "MARK_KEY", "ROW_KEY", "SheetAccessError", "SheetGrid"]
