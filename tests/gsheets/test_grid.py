"""SheetGrid: real gspread over real HTTP to the Sheets emulator; request budgets from its log."""
from __future__ import annotations

import time
import uuid

import gspread
import pytest
import requests

from server.batches import keys
from server.config import Settings
from server.gsheets.client import (
    SheetAccessError,
    SheetsUnavailable,
    call_with_retries,
    service_account_client,
    sheets_client,
)
from server.gsheets.contents import COLUMN_KEY, ROW_KEY, ROW_KEY_PREFIX
from server.gsheets.grid import SheetGrid
from server.gsheets.marks import MEMORY_DAYS, MarkMemory
from server.sheet.columns import RESULT_COLUMNS
from server.sheet.template import template_rows
from server.sheet.validation import validate
from testkit.sheets_emulator import EmulatorServer

RED = {"red": 0xF4 / 255, "green": 0xC7 / 255, "blue": 0xC3 / 255}
HEADER = ["prompt", "visibility", "aspect_ratio", "model"]


@pytest.fixture
def server():
    with EmulatorServer() as srv:
        yield srv


@pytest.fixture
def env(server, monkeypatch):
    monkeypatch.setenv("SHEETBATCH_GOOGLE_API_URL", server.url)
    for name in ("SHEETBATCH_SERVICE_ACCOUNT_FILE", "GOOGLE_APPLICATION_CREDENTIALS"):
        monkeypatch.delenv(name, raising=False)
    return server


@pytest.fixture
def gc(env):
    # A token of its own per test: the emulator's per-user quota is then the test's alone.
    return sheets_client(f"tok-{uuid.uuid4().hex[:8]}", Settings.from_env())


def new_sheet(gc, rows, input_option="USER_ENTERED"):
    ws = gc.create("batch").sheet1
    if rows:
        ws.update(rows, "A1", value_input_option=input_option)
    return ws


@pytest.fixture
def memory(redis_conn):
    return MarkMemory(redis_conn)


def grid_of(gc, ws, memory=None, **kw):
    return SheetGrid(gc, ws.spreadsheet.id, ws.id, memory=memory, **kw)


def our_metadata(server, ws):
    return list(server.state.spreadsheets[ws.spreadsheet.id].metadata.values())


class Budget:
    """Reads and writes the emulator logged since it was made."""

    def __init__(self, server):
        self.server, self.start = server, len(server.log)

    def used(self):
        kinds = [r["kind"] for r in self.server.log[self.start:]]
        return {"read": kinds.count("read"), "write": kinds.count("write")}


def check(grid):
    contents = grid.read()
    return contents, validate(contents.rows)


def cell(server, ws, a1):
    return server.state.cell(ws.spreadsheet.id, f"{ws.title}!{a1}")


def bg(server, ws, a1):
    fmt = cell(server, ws, a1).get("userEnteredFormat") or {}
    colour = fmt.get("backgroundColor")
    return None if colour is None else "".join(
        f"{round(colour.get(k, 0) * 255):02X}" for k in ("red", "green", "blue"))


def batch_update(ws, *reqs):
    return ws.spreadsheet.batch_update({"requests": list(reqs)})


# --- read and validate --------------------------------------------------------------------
def test_read_499_rows_is_one_request_and_validation_one_write(env, gc, memory):
    rows = [HEADER] + [[f"prompt {i}", "maybe", "16:9", "3"] for i in range(499)]
    ws = new_sheet(gc, rows)
    grid = grid_of(gc, ws, memory)
    budget = Budget(env)
    table = grid.read()
    assert budget.used() == {"read": 1, "write": 0}
    assert table.title == "Sheet1" and len(table.rows) == 500
    assert table.rows[1] == ["prompt 0", "maybe", "16:09:00", "3"]
    assert (grid.sheet_id, table.title) == (ws.id, "Sheet1")

    budget = Budget(env)
    contents, report = check(grid)
    assert len(report.errors) == 499 and len(report.warnings) == 499
    grid.mark(contents, report)
    assert budget.used() == {"read": 1, "write": 1}
    assert bg(env, ws, "B500") == "F4C7C3" and bg(env, ws, "C2") == "FCE8B2"
    # A second round finds every mark already in place: one read, no write.
    budget = Budget(env)
    grid.mark(*check(grid))
    assert budget.used() == {"read": 1, "write": 0}


def test_read_first_sheet_without_id(env, gc):
    ws = new_sheet(gc, [HEADER, ["a cat", "public", "'16:9", 2]])
    ws.spreadsheet.add_worksheet("Other", 10, 5).update([["x"]], "A1")
    grid = SheetGrid(gc, ws.spreadsheet.id)
    budget = Budget(env)
    table = grid.read()
    assert budget.used() == {"read": 1, "write": 0}
    assert table.rows == [HEADER, ["a cat", "public", "16:9", "2"]]
    assert grid.sheet_id == ws.id


# --- marks --------------------------------------------------------------------------------
def test_marks_and_their_undoing_touch_only_our_marks(env, gc, memory, redis_conn):
    ws = new_sheet(gc, [HEADER + ["mine"], ["cat", "private", "16:9"], ["dog", "maybe"],
                        ["", "public"], ["owl", "public"], ["fox", "public"]])
    ws.update_notes({"B3": "ask Ann", "E6": "my own note"})
    batch_update(ws, {"repeatCell": {
        "range": {"sheetId": ws.id, "startRowIndex": 4, "endRowIndex": 5,
                  "startColumnIndex": 4, "endColumnIndex": 5},
        "cell": {"userEnteredFormat": {"backgroundColor": RED}},
        "fields": "userEnteredFormat.backgroundColor"}})
    grid = grid_of(gc, ws, memory)
    contents, report = check(grid)
    grid.mark(contents, report)
    errors = {p.cell: p.message for p in report.errors}
    assert set(errors) == {"B3", "A4"}
    assert bg(env, ws, "B3") == "F4C7C3" and cell(env, ws, "B3")["note"] == errors["B3"]
    assert bg(env, ws, "C2") == "FCE8B2" and "16:9" in cell(env, ws, "C2")["note"]
    assert bg(env, ws, "E1") == "FCE8B2"  # the unknown header "mine" is a warning, in place
    # The undo memory is ours, in Redis with a time to live: nothing of it in the sheet.
    assert our_metadata(env, ws) == []
    assert set(memory.load(ws.spreadsheet.id, ws.id)) == {"B3", "A4", "C2", "E1"}
    key = keys.marks(ws.spreadsheet.id, ws.id)
    assert 0 < redis_conn.ttl(key) <= MEMORY_DAYS * 86400

    # The person fixes B3 and A4, and recolours A4 themselves.
    ws.update([["bird", "public"]], "A4")
    ws.update([["public"]], "B3")
    batch_update(ws, {"repeatCell": {
        "range": {"sheetId": ws.id, "startRowIndex": 3, "endRowIndex": 4,
                  "startColumnIndex": 0, "endColumnIndex": 1},
        "cell": {"userEnteredFormat": {"backgroundColor": {"blue": 1}}},
        "fields": "userEnteredFormat.backgroundColor"}})
    contents, report = check(grid)
    assert not report.errors
    grid.mark(contents, report)
    assert bg(env, ws, "B3") is None and cell(env, ws, "B3")["note"] == "ask Ann"
    assert bg(env, ws, "A4") == "0000FF" and cell(env, ws, "A4")["note"] == errors["A4"]
    assert bg(env, ws, "C2") == "FCE8B2"  # still a warning
    assert bg(env, ws, "E5") == "F4C7C3" and cell(env, ws, "E6")["note"] == "my own note"

    # Fix the last warnings: a clean sheet keeps no mark of ours and no memory of marks.
    ws.update([["16:9"]], "C2", value_input_option="RAW")
    ws.update([[""]], "E1")
    grid.mark(*check(grid))
    assert bg(env, ws, "C2") is None and "note" not in cell(env, ws, "C2")
    assert bg(env, ws, "E1") is None
    assert bg(env, ws, "E5") == "F4C7C3" and cell(env, ws, "E6")["note"] == "my own note"
    assert cell(env, ws, "B3")["note"] == "ask Ann"
    assert memory.load(ws.spreadsheet.id, ws.id) == {} and not redis_conn.exists(key)
    budget = Budget(env)
    grid.mark(*check(grid))  # nothing marked and nothing to mark: no write at all
    assert budget.used() == {"read": 1, "write": 0}


def test_sheet_level_problem_marks_a1_and_header_problem_its_cell(env, gc, memory):
    ws = new_sheet(gc, [["Prompt", "visibility"], ["cat", "public"]])
    grid = grid_of(gc, ws, memory)
    grid.mark(*check(grid))
    assert bg(env, ws, "A1") == "F4C7C3"
    assert "rename it to prompt." in cell(env, ws, "A1")["note"]
    # The add-in's Fix renames the header in the same single write as any ratios.
    budget = Budget(env)
    assert grid.fix(*check(grid)) == 1
    assert budget.used() == {"read": 1, "write": 1}
    assert ws.row_values(1) == ["prompt", "visibility"]
    assert check(grid)[1].valid


def test_marks_of_a_huge_sheet_leave_no_metadata(env, gc, memory):
    """Remembering 499 long notes of the person's own (~200,000 characters) in developer
    metadata went far past Google's limit per sheet; the memory is in Redis now."""
    long_note = "x" * 400
    rows = [HEADER] + [["", "maybe", "7:5", "9"] for _ in range(499)]
    ws = new_sheet(gc, rows)
    ws.update_notes({f"B{r}": f"{long_note} {r}" for r in range(2, 501)})
    grid = grid_of(gc, ws, memory)
    grid.mark(*check(grid))
    assert our_metadata(env, ws) == []
    ws.update([["cat", "public", "1:1", "3.0"]] * 499, "A2")
    grid.mark(*check(grid))
    assert cell(env, ws, "B77")["note"] == f"{long_note} 77" and bg(env, ws, "B77") is None
    assert "note" not in cell(env, ws, "A77")


# --- aspect-ratio fix ----------------------------------------------------------------------
def test_fix_aspect_ratios(env, gc):
    ws = new_sheet(gc, [HEADER, ["cat", "public", "16:9"], ["dog", "public", "2:3"],
                        ["owl", "public", "1:1"]])
    grid = grid_of(gc, ws)
    contents, report = check(grid)
    assert [w.value for w in report.warnings] == ["16:09:00", "2:03:00", "1:01:00"]
    budget = Budget(env)
    assert grid.fix(contents, report) == 3
    assert budget.used() == {"read": 0, "write": 1}
    assert cell(env, ws, "C2")["userEnteredValue"] == {"stringValue": "16:9"}
    fmt = {"type": "TEXT", "pattern": "@"}
    assert cell(env, ws, "C1000")["userEnteredFormat"]["numberFormat"] == fmt
    assert "userEnteredFormat" not in cell(env, ws, "C1")
    table = grid.read()
    assert [row[2] for row in table.rows[1:]] == ["16:9", "2:3", "1:1"]
    assert not validate(table.rows).warnings
    ws.update([["4:3"]], "C5", value_input_option="USER_ENTERED")  # now typed as text
    assert grid.read().rows[4][2] == "4:3"


# --- template ------------------------------------------------------------------------------
def test_insert_template(env, gc):
    ws = new_sheet(gc, [["something"]])
    grid = grid_of(gc, ws)
    budget = Budget(env)
    sheet_id, title = grid.insert_template(full=True)
    assert budget.used() == {"read": 1, "write": 1}
    assert title == "Batch template"
    sheet = next(s for s in env.state.spreadsheets[ws.spreadsheet.id].sheets if s.id == sheet_id)
    assert sheet.props["gridProperties"]["frozenRowCount"] == 1

    def first(a1):
        return env.state.cell(ws.spreadsheet.id, f"'{title}'!{a1}")

    assert first("A1")["userEnteredFormat"]["textFormat"]["bold"] is True
    rule = first("B2")["dataValidation"]
    assert rule["condition"]["type"] == "ONE_OF_LIST" and rule["strict"] is True
    assert [v["userEnteredValue"] for v in rule["condition"]["values"]] == ["public", "private"]
    assert first("F300")["dataValidation"]["condition"]["type"] == "NUMBER_BETWEEN"
    assert first("K2")["dataValidation"]["strict"] is False  # colour palette: hex allowed too
    assert first("C400")["userEnteredFormat"]["numberFormat"]["type"] == "TEXT"
    assert first("E2")["userEnteredFormat"]["numberFormat"]["type"] == "TEXT"
    assert first("F2")["userEnteredValue"] == {"numberValue": 4}

    _, report = check(SheetGrid(gc, ws.spreadsheet.id, sheet_id))
    assert report.valid and not report.warnings
    assert report.row_count == len(template_rows(full=True)) - 1
    assert grid.insert_template(full=False)[1] == "Batch template 2"


# --- batches --------------------------------------------------------------------------------
def started_batch(gc, n=6, batch_id="b1"):
    ws = new_sheet(gc, [HEADER] + [[f"p{i}", "public"] for i in range(2, n + 2)])
    grid = grid_of(gc, ws)
    contents, report = check(grid)
    grid.prepare_batch(contents, batch_id, sorted(report.rows), report)
    return ws, grid, report


def status_column(ws):
    return ws.row_values(1).index("status") + 1


def statuses(ws):
    col = status_column(ws)
    return {row[0]: row[col - 1] if len(row) >= col else "" for row in ws.get_values()[1:]}


def test_prepare_batch_writes_headers_anchors_and_queued(env, gc):
    ws, grid, report = started_batch(gc)
    header = ws.row_values(1)
    assert header == HEADER + list(RESULT_COLUMNS)
    assert set(statuses(ws).values()) == {"queued"}
    metadata = env.state.spreadsheets[ws.spreadsheet.id].metadata.values()
    rows = sorted(int(m["metadataValue"]) for m in metadata
                  if m["metadataKey"] == ROW_KEY.format(batch_id="b1"))
    assert rows == list(range(2, 8))
    assert sorted(m["metadataValue"] for m in metadata
                  if m["metadataKey"] == COLUMN_KEY) == sorted(RESULT_COLUMNS)

    # A second batch reuses the result columns: no duplicates, no new anchors.
    contents, report = check(grid)
    assert set(report.result_columns) == set(RESULT_COLUMNS)
    budget = Budget(env)
    grid.prepare_batch(contents, "b2", [3], report)
    assert budget.used() == {"read": 0, "write": 1}
    assert ws.row_values(1) == header
    assert sum(m["metadataKey"] == COLUMN_KEY for m in metadata) == len(RESULT_COLUMNS)


def test_prepare_batch_widens_a_narrow_grid(env, gc):
    ws = gc.create("narrow").sheet1
    ws.resize(rows=10, cols=4)
    ws.update([HEADER, ["cat", "public", "1:1", "3.0"]], "A1")
    grid = grid_of(gc, ws)
    contents, report = check(grid)
    grid.prepare_batch(contents, "b", [2], report)
    assert ws.row_values(1) == HEADER + list(RESULT_COLUMNS)
    assert grid.write_results({"b": {2: {"status": "done", "error": None}}}) == set()
    assert statuses(ws) == {"cat": "done"}


def test_results_follow_rows_inserted_above(env, gc):
    ws, grid, _ = started_batch(gc)
    batch_update(ws, {"insertDimension": {"range": {"sheetId": ws.id, "dimension": "ROWS",
                                                    "startIndex": 1, "endIndex": 3}}})
    assert grid.write_results({"b1": {2: {"status": "done"}, 5: {"status": "failed"}}}) == set()
    assert ws.acell("A4").value == "p2"
    got = statuses(ws)
    assert got["p2"] == "done" and got["p5"] == "failed" and got["p3"] == "queued"


def test_results_skip_a_deleted_row(env, gc):
    ws, grid, _ = started_batch(gc)
    ws.delete_rows(4)  # the row holding p4
    missing = grid.write_results({"b1": {r: {"status": "generating"} for r in range(2, 8)}})
    assert missing == {("b1", 4)}
    assert set(statuses(ws).values()) == {"generating"} and "p4" not in statuses(ws)


def test_results_follow_a_sort(env, gc):
    ws, grid, _ = started_batch(gc)
    batch_update(ws, {"sortRange": {
        "range": {"sheetId": ws.id, "startRowIndex": 1, "endRowIndex": 7},
        "sortSpecs": [{"dimensionIndex": 0, "sortOrder": "DESCENDING"}]}})
    assert ws.col_values(1)[1:] == ["p7", "p6", "p5", "p4", "p3", "p2"]
    done = {row: {"status": "done", "used_seed": row * 100} for row in (2, 3)}
    assert grid.write_results({"b1": done}) == set()
    got = statuses(ws)
    assert got["p2"] == got["p3"] == "done" and got["p7"] == "queued"
    seed_col = ws.row_values(1).index("used_seed") + 1
    assert ws.cell(7, seed_col).value == "200"  # p2 is now the last row


def test_one_request_per_write_follows_sorts_inserts_and_deletes(env, gc):
    """With the result columns known, each write is ONE request, and every status still lands
    on its own row after the person sorts, inserts and deletes rows between writes."""
    ws, grid, _ = started_batch(gc, n=8)
    columns = grid.result_columns()
    batch_update(ws, {"sortRange": {
        "range": {"sheetId": ws.id, "startRowIndex": 1, "endRowIndex": 9},
        "sortSpecs": [{"dimensionIndex": 0, "sortOrder": "DESCENDING"}]}})
    budget = Budget(env)
    assert grid.write_results({"b1": {2: {"status": "done"}, 3: {"status": "failed"}}},
                              columns) == set()
    assert budget.used() == {"read": 0, "write": 1}
    batch_update(ws, {"insertDimension": {"range": {"sheetId": ws.id, "dimension": "ROWS",
                                                    "startIndex": 2, "endIndex": 4}}})
    ws.delete_rows(ws.col_values(1).index("p5") + 1)
    budget = Budget(env)
    assert grid.write_results({"b1": {r: {"status": "generating"} for r in (4, 5, 6)}},
                              columns) == {("b1", 5)}
    assert budget.used() == {"read": 0, "write": 1}
    assert statuses(ws) == {"p9": "queued", "p8": "queued", "p7": "queued", "p6": "generating",
                            "p4": "generating", "p3": "failed", "p2": "done", "": ""}


def test_result_values_raw_text_links_preview_and_budget(env, gc):
    ws, grid, _ = started_batch(gc, n=40)
    url = "https://img.example/a b\"1.png"
    values = {row: {"status": "done", "image_1": url, "image_2": None, "preview": url,
                    "used_seed": "11, 12", "used_prompt": "=1+1", "error": "'quoted"}
              for row in range(2, 42)}
    budget = Budget(env)
    columns = grid.result_columns()
    assert budget.used() == {"read": 1, "write": 0}
    budget = Budget(env)
    assert grid.write_results({"b1": values}, columns) == set()
    assert budget.used() == {"read": 0, "write": 1}  # 40 rows, one request
    header = ws.row_values(1)

    def a1(name, row):
        return gspread.utils.rowcol_to_a1(row, header.index(name) + 1)

    assert cell(env, ws, a1("used_prompt", 9))["userEnteredValue"] == {"stringValue": "=1+1"}
    assert ws.acell(a1("used_prompt", 9)).value == "=1+1"  # shown as typed, not computed
    assert ws.acell(a1("used_seed", 9)).value == "11, 12"  # text, not a number
    assert ws.acell(a1("error", 9)).value == "'quoted"  # only our own quote is taken off
    preview = cell(env, ws, a1("preview", 9))["userEnteredValue"]
    assert preview == {"formulaValue": '=IMAGE("https://img.example/a b""1.png")'}
    image = cell(env, ws, a1("image_1", 9))["userEnteredValue"]
    assert image == {"formulaValue": '=HYPERLINK("https://img.example/a b""1.png", '
                                     '"https://img.example/a b""1.png")'}
    assert ws.acell(a1("image_1", 9)).value == "https://img.example/a b\"1.png"
    # The person's own cells in those rows are untouched.
    assert ws.row_values(9)[:2] == ["p9", "public"]
    # "" clears a cell, its link included.
    grid.write_results({"b1": {9: {"image_1": None, "status": "failed"}}}, columns)
    assert cell(env, ws, a1("image_1", 9)) == {}
    assert ws.acell(a1("status", 9)).value == "failed"
    budget = Budget(env)
    assert grid.write_results({}) == set() and grid.write_results({"b1": {}}) == set()
    assert budget.used() == {"read": 0, "write": 0}


def test_clear_batch_anchors(env, gc):
    ws, grid, _ = started_batch(gc)
    budget = Budget(env)
    grid.clear_batch_anchors("b1")
    assert budget.used() == {"read": 0, "write": 1}
    metadata = env.state.spreadsheets[ws.spreadsheet.id].metadata.values()
    assert not any(m["metadataKey"].startswith(ROW_KEY_PREFIX) for m in metadata)
    assert grid.write_results({"b1": {2: {"status": "done"}}}) == {("b1", 2)}


def test_without_column_anchors_the_headers_place_the_results(env, gc):
    ws, grid, _ = started_batch(gc)
    grid.clear_batch_anchors("b1", columns_too=True)
    assert our_metadata(env, ws) == []
    budget = Budget(env)
    columns = grid.result_columns()
    assert budget.used() == {"read": 2, "write": 0}  # the search, then the header row
    header = ws.row_values(1)
    assert columns == {name: header.index(name) for name in RESULT_COLUMNS}


# --- retries and errors ---------------------------------------------------------------------
def test_transient_errors_are_retried(env, gc):
    ws = new_sheet(gc, [HEADER, ["cat", "public"]])
    slept = []
    grid = grid_of(gc, ws, retry={"sleep": slept.append, "base": 0.5})
    env.inject(status=429, count=1)
    env.inject(status=500, count=1)
    assert grid.read().rows[1] == ["cat", "public"]
    assert len(slept) == 2 and 0.5 <= slept[0] <= 1.0 and 1.0 <= slept[1] <= 1.5


def test_calls_under_a_deadline_end_by_it(env, gc, memory):
    """A web request's Sheets calls share one deadline: once too little time is left, the next
    call is not sent and fails as a timeout (transient: the API answers 503 at once)."""
    ws = new_sheet(gc, [HEADER, ["cat", "maybe"]])
    env.set_latency(0.8)
    grid = grid_of(gc, ws, memory, retry={"attempts": 1}, deadline=time.monotonic() + 1.5)
    contents, report = check(grid)  # takes ~0.8 s: 0.7 s left, under the 1 s a call needs
    budget = Budget(env)
    with pytest.raises(requests.exceptions.Timeout):
        grid.mark(contents, report)
    assert budget.used() == {"read": 0, "write": 0}


def test_permanent_error_is_not_retried(env, gc):
    ws = new_sheet(gc, [HEADER])
    slept = []
    grid = grid_of(gc, ws, retry={"sleep": slept.append})
    env.inject(status=400, count=1, message="Invalid requests[0]")
    with pytest.raises(gspread.exceptions.APIError):
        grid.read()
    assert slept == []


def test_retry_policy_units():
    slept, calls = [], []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise requests.exceptions.ConnectionError("reset")
        return "ok"
    assert call_with_retries(flaky, sleep=slept.append, base=1, max_wait=1.5) == "ok"
    assert len(slept) == 2 and all(w <= 1.5 for w in slept)

    response = requests.Response()
    response.status_code, response._content = 503, b'{"error": {"code": 503, "message": "x"}}'
    response.headers["Retry-After"] = "7"
    slept.clear()
    with pytest.raises(gspread.exceptions.APIError):
        call_with_retries(lambda: (_ for _ in ()).throw(gspread.exceptions.APIError(response)),
                          attempts=3, sleep=slept.append)
    assert slept == [7.0, 7.0]


def test_access_errors_are_plain_english(env, gc):
    with pytest.raises(SheetAccessError, match="not found"):
        SheetGrid(gc, "no-such-sheet", 0).read()
    other = env.state.create("private")
    other.owner = "owner@example.com"
    env.state.emails["tok-stranger"] = "stranger@example.com"
    stranger = sheets_client("tok-stranger", Settings.from_env())
    with pytest.raises(SheetAccessError, match="not shared with") as err:
        SheetGrid(stranger, other.id).read()
    assert err.value.status == 403


def test_a_person_client_needs_their_token_and_write_back_a_service_account(env):
    with pytest.raises(SheetAccessError, match="reopen the Batch images sidebar"):
        sheets_client(None, Settings(service_account_file="/any/key.json"))
    with pytest.raises(SheetsUnavailable, match="SHEETBATCH_SERVICE_ACCOUNT_FILE"):
        service_account_client(Settings())
