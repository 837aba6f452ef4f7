"""Write-back with real parts (Redis, the Sheets emulator over HTTP, gspread): nothing is lost
when the person's token is gone, and rows land once a fresh token arrives."""
from __future__ import annotations

import dataclasses
import re
import time

import gspread
import pytest

from server.batches import keys
from server.batches.record import BatchKeys
from server.gsheets.anchors import SheetFull
from server.gsheets.contents import COLUMN_KEY, ROW_KEY, ROW_KEY_PREFIX
from server.gsheets.tokens import store_token
from server.services import Services
from testkit.clients import gspread_client
from testkit.processes import wait_for
from testkit.sheets_emulator.server import EmulatorServer

TOKEN, OWNER = "ya29.writeback-test", "alice@example.com"


@pytest.fixture
def fresh_emulator():
    """One per test: each test's Sheets requests have the per-user quota to themselves."""
    with EmulatorServer() as server:
        yield server


@pytest.fixture
def app_settings(fresh_emulator) -> dict:
    """Sheets at this test's own emulator, flushed every 0.2 s."""
    return {"flush_interval": 0.2, "google_api_url": fresh_emulator.url}


def make_sheet(emulator) -> gspread.Worksheet:
    sheet = gspread_client(emulator, TOKEN).create("write-back").sheet1
    sheet.update([["prompt", "visibility", "num_images"], ["a kite", "private", 1],
                  ["a boat", "public", 1]], "A1")
    return sheet


def make_image(services, batch_id: str, row: int) -> None:
    """Do what a worker does for one image (claim, store, settle), without a provider."""
    batches = services.batches
    assert batches.claim(batch_id, row, 1, "worker-token") == "ok"
    batches.settle(batch_id, row, 1, "worker-token", "done",
                   {"name": f"{row:04d}_1_x.png", "seed": 7, "prompt": "used"})


def status_column(sheet) -> list[str]:
    values = sheet.get_all_values()
    column = values[0].index("status")
    return [row[column] for row in values[1:]]


def writeback(services, batch_id: str) -> dict:
    return services.batches.status(batch_id).as_dict()["writeback"]


def start(services, sheet) -> str:
    grid = services.sheets.grid(TOKEN, sheet.spreadsheet.id, sheet.id)
    return services.sheets.start(grid, services.sheets.validate(grid), OWNER, "preview",
                                 "http://sheetbatch.test/")


def row_anchors(fresh_emulator, sheet, batch_id: str) -> list[dict]:
    return [m for m in fresh_emulator.state.spreadsheets[sheet.spreadsheet.id].metadata.values()
            if m["metadataKey"] == ROW_KEY.format(batch_id=batch_id)]


def our_metadata(fresh_emulator, sheet) -> list[dict]:
    return [m for m in fresh_emulator.state.spreadsheets[sheet.spreadsheet.id].metadata.values()
            if m["metadataKey"].startswith(("sheetbatch.", ROW_KEY_PREFIX))]


def test_the_batch_status_names_its_sheet(services, fresh_emulator):
    sheet = make_sheet(fresh_emulator)
    status = services.batches.status(start(services, sheet)).as_dict()
    assert (status["spreadsheet_id"], status["sheet_id"]) == (sheet.spreadsheet.id, sheet.id)


@pytest.mark.parametrize("gone, says", [("deleted", "was not found"),
                                         ("unshared", "is not shared with")])
def test_a_lost_spreadsheet_stops_write_back_with_a_message(services, fresh_emulator, gone, says):
    sheet = make_sheet(fresh_emulator)
    batch_id = start(services, sheet)
    make_image(services, batch_id, 2)
    store_token(services.batches.redis, OWNER, TOKEN, 600)
    if gone == "deleted":
        del fresh_emulator.state.spreadsheets[sheet.spreadsheet.id]
    else:  # the owner (someone else) stopped sharing it with Alice: Google answers 403
        fresh_emulator.state.spreadsheets[sheet.spreadsheet.id].owner = "owner@example.com"
        fresh_emulator.state.emails[TOKEN] = OWNER
    try:
        wait_for(lambda: services.sheets.writeback.flush_due()
                 or writeback(services, batch_id)["state"] == "stopped", timeout=10,
                 what="write-back to stop")
        assert says in writeback(services, batch_id)["message"]
        assert not services.batches.redis.sismember(keys.SHEET_BATCHES, batch_id)
        sent = len(fresh_emulator.log)
        make_image(services, batch_id, 3)
        services.sheets.writeback.flush_due()
        assert len(fresh_emulator.log) == sent  # never retried
    finally:
        fresh_emulator.state.emails.pop(TOKEN, None)


def test_row_anchors_go_when_a_batch_completes(services, fresh_emulator):
    sheet = make_sheet(fresh_emulator)
    batch_id = start(services, sheet)
    assert len(row_anchors(fresh_emulator, sheet, batch_id)) == 2
    store_token(services.batches.redis, OWNER, TOKEN, 600)
    make_image(services, batch_id, 2)
    make_image(services, batch_id, 3)
    redis = services.batches.redis
    wait_for(lambda: services.sheets.writeback.flush_due()
             or redis.zscore(keys.ANCHORS_TO_CLEAR, batch_id), timeout=10,
             what="the finished batch to leave write-back")
    assert status_column(sheet) == ["done", "done"]
    assert services.sheets.writeback.clear_due_anchors() == 1
    assert row_anchors(fresh_emulator, sheet, batch_id) == []
    assert our_metadata(fresh_emulator, sheet) == []  # the result columns' anchors went too

    next_batch = start(services, sheet)  # anchors its rows and result columns again
    make_image(services, next_batch, 3)
    wait_for(lambda: services.sheets.writeback.flush_due()
             or not redis.exists(BatchKeys(next_batch).part("dirty")), timeout=10,
             what="the next batch's write-back")
    assert status_column(sheet) == ["queued", "done"]


def test_result_column_anchors_stay_while_another_batch_needs_them(services, fresh_emulator):
    sheet = make_sheet(fresh_emulator)
    store_token(services.batches.redis, OWNER, TOKEN, 600)
    first, second = start(services, sheet), start(services, sheet)
    for row in (2, 3):
        make_image(services, first, row)
    redis = services.batches.redis
    wait_for(lambda: services.sheets.writeback.flush_due()
             or redis.zscore(keys.ANCHORS_TO_CLEAR, first), timeout=10,
             what="the first batch to leave write-back")
    assert services.sheets.writeback.clear_due_anchors() == 1
    assert {m["metadataKey"] for m in our_metadata(fresh_emulator, sheet)} == {
        COLUMN_KEY, ROW_KEY.format(batch_id=second)}


def test_row_anchors_of_a_resumable_batch_are_swept_a_day_later(services, fresh_emulator):
    sheet = make_sheet(fresh_emulator)
    batch_id = start(services, sheet)
    store_token(services.batches.redis, OWNER, TOKEN, 600)
    make_image(services, batch_id, 2)
    services.batches.stop(batch_id)
    redis = services.batches.redis
    wait_for(lambda: services.sheets.writeback.flush_due()
             or redis.zscore(keys.ANCHORS_TO_CLEAR, batch_id), timeout=10,
             what="the stopped batch to leave write-back")
    assert services.sheets.writeback.clear_due_anchors() == 0  # Resume may still need them
    assert len(row_anchors(fresh_emulator, sheet, batch_id)) == 2
    assert services.sheets.writeback.clear_due_anchors(now=time.time() + 86401) == 1
    assert row_anchors(fresh_emulator, sheet, batch_id) == []


def test_anchors_of_batches_we_no_longer_know_go_with_the_next_start(services, fresh_emulator):
    """E.g. Redis was lost: nothing would ever clear those anchors, and they fill the sheet's
    metadata budget. The next batch started on the sheet deletes them in its one write."""
    sheet = make_sheet(fresh_emulator)
    sheet.spreadsheet.batch_update({"requests": [{"createDeveloperMetadata": {
        "developerMetadata": {"metadataKey": ROW_KEY.format(batch_id="f0f0f0f0f0f0f0f0"),
                              "metadataValue": str(row), "visibility": "DOCUMENT",
                              "location": {"dimensionRange": {
                                  "sheetId": sheet.id, "dimension": "ROWS",
                                  "startIndex": row - 1, "endIndex": row}}}}}
        for row in (2, 3)]})
    kept = start(services, sheet)  # a batch we know keeps its anchors
    batch_id = start(services, sheet)
    assert row_anchors(fresh_emulator, sheet, "f0f0f0f0f0f0f0f0") == []
    assert len(row_anchors(fresh_emulator, sheet, kept)) == 2
    assert len(row_anchors(fresh_emulator, sheet, batch_id)) == 2


def test_rows_wait_for_a_token_then_land(services, fresh_emulator):
    sheet = make_sheet(fresh_emulator)
    grid = services.sheets.grid(TOKEN, sheet.spreadsheet.id, sheet.id)
    batch_id = services.sheets.start(grid, services.sheets.validate(grid), OWNER, "preview",
                                     "http://sheetbatch.test/")
    assert status_column(sheet) == ["queued", "queued"]
    make_image(services, batch_id, 2)

    services.sheets.writeback.flush_due()  # no token stored, no service account: must wait
    assert status_column(sheet) == ["queued", "queued"]
    assert services.batches.redis.smembers(f"sb:b:{batch_id}:dirty") == {b"2"}
    assert writeback(services, batch_id)["state"] == "waiting_for_person"
    assert "sidebar" in writeback(services, batch_id)["message"]

    store_token(services.batches.redis, OWNER, TOKEN, 600)
    wait_for(lambda: services.sheets.writeback.flush_due() or
             status_column(sheet) == ["done", "queued"], timeout=10, what="the write-back")
    assert writeback(services, batch_id) == {"state": "ok", "message": ""}
    values = sheet.get_all_records()
    assert values[0]["used_seed"] == 7 and values[0]["used_prompt"] == "used"
    assert values[0]["image_1"].startswith("http://sheetbatch.test/images/")
    assert values[1]["image_1"] == ""


# --- one request per flush, one budget for every process ------------------------------------
def write_back_requests(fresh_emulator, since: int) -> list[str]:
    return [entry["path"].rsplit("/", 1)[-1] for entry in fresh_emulator.log[since:]
            if "values:batchUpdateByDataFilter" in entry["path"]
            or "developerMetadata:search" in entry["path"]]


def test_each_flush_is_one_request(services, fresh_emulator):
    sheet = make_sheet(fresh_emulator)
    batch_id = start(services, sheet)
    store_token(services.batches.redis, OWNER, TOKEN, 600)
    writeback, redis = services.sheets.writeback, services.batches.redis
    mark = len(fresh_emulator.log)
    make_image(services, batch_id, 2)
    wait_for(lambda: writeback.flush_due() or not redis.exists(BatchKeys(batch_id).part("dirty")),
             timeout=10, what="the first flush")
    assert status_column(sheet) == ["done", "queued"]
    assert write_back_requests(fresh_emulator, mark) == ["values:batchUpdateByDataFilter"]
    # The person sorts the rows (p3 first): the next status still lands on its own row.
    sheet.spreadsheet.batch_update({"requests": [{"sortRange": {
        "range": {"sheetId": sheet.id, "startRowIndex": 1, "endRowIndex": 3},
        "sortSpecs": [{"dimensionIndex": 0, "sortOrder": "ASCENDING"}]}}]})
    assert sheet.col_values(1)[1:] == ["a boat", "a kite"]
    mark = len(fresh_emulator.log)
    make_image(services, batch_id, 3)
    wait_for(lambda: writeback.flush_due() or not redis.exists(BatchKeys(batch_id).part("dirty")),
             timeout=10, what="the second flush")
    assert status_column(sheet) == ["done", "done"]
    assert write_back_requests(fresh_emulator, mark) == ["values:batchUpdateByDataFilter"]
    assert sheet.get_all_records()[0]["image_1"].startswith("http://sheetbatch.test/images/")


def test_all_processes_keep_to_one_request_budget(services, fresh_emulator):
    """Two processes' write-back (two Services on one Redis), three sheets, a budget of 2 a
    minute: two sheets are written, the third waits for room in the budget, its rows kept."""
    settings = dataclasses.replace(services.settings, sheets_requests_per_minute=2)
    processes = [Services(settings).sheets.writeback, Services(settings).sheets.writeback]
    store_token(services.batches.redis, OWNER, TOKEN, 600)
    sheets = [make_sheet(fresh_emulator) for _ in range(3)]
    batch_ids = [start(services, sheet) for sheet in sheets]
    assert processes[0].pacing.interval(3, 3) == 90.0  # 3 sheets share 2 requests a minute
    mark = len(fresh_emulator.log)
    for batch_id in batch_ids:
        make_image(services, batch_id, 2)
    redis = services.batches.redis
    wait_for(lambda: [p.flush_due() for p in processes]
             and sum(not redis.exists(BatchKeys(b).part("dirty")) for b in batch_ids) == 2,
             timeout=10, what="two sheets written")
    for process in processes:
        process.flush_due()
    assert len(write_back_requests(fresh_emulator, mark)) == 2
    assert sum(redis.exists(BatchKeys(b).part("dirty")) for b in batch_ids) == 1
    assert sorted(status_column(s)[0] for s in sheets) == ["done", "done", "queued"]


def test_a_429_is_honoured_for_its_retry_after_without_sleeping(services, fresh_emulator):
    sheet = make_sheet(fresh_emulator)
    batch_id = start(services, sheet)
    store_token(services.batches.redis, OWNER, TOKEN, 600)
    make_image(services, batch_id, 2)
    fresh_emulator.inject(status=429, count=1, path_contains="batchUpdateByDataFilter",
                          retry_after=30)
    services.sheets.writeback.flush_due()  # returns at once: nobody sleeps 30 s
    redis = services.batches.redis
    backoff = redis.pttl(keys.flush(sheet.spreadsheet.id, "backoff"))
    assert 25_000 < backoff <= 30_000  # not the 0.4 s its own back-off would have been
    assert redis.smembers(BatchKeys(batch_id).part("dirty")) == {b"2"}
    services.sheets.writeback.flush_due()
    assert status_column(sheet) == ["queued", "queued"]


# --- what Google refuses (issue 21) -----------------------------------------------------------
def flushed(services, batch_id: str) -> None:
    redis = services.batches.redis
    wait_for(lambda: services.sheets.writeback.flush_due()
             or not redis.exists(BatchKeys(batch_id).part("dirty")), timeout=10, what="a flush")


def test_long_text_is_cut_to_fit_a_cell(services, fresh_emulator):
    sheet = make_sheet(fresh_emulator)
    batch_id = start(services, sheet)
    store_token(services.batches.redis, OWNER, TOKEN, 600)
    batches = services.batches
    assert batches.claim(batch_id, 2, 1, "worker-token") == "ok"
    batches.settle(batch_id, 2, 1, "worker-token", "failed", {"error": "x" * 60_000})
    flushed(services, batch_id)
    error = sheet.get_all_records()[0]["error"]
    assert len(error) == 49_999 and error.endswith("…")  # the apostrophe that keeps it text: 1
    assert writeback(services, batch_id) == {"state": "ok", "message": ""}


def test_a_refused_flush_writes_the_other_rows_and_explains_the_refused_one(services,
                                                                            fresh_emulator):
    sheet = make_sheet(fresh_emulator)
    batch_id = start(services, sheet)
    store_token(services.batches.redis, OWNER, TOKEN, 600)
    status = sheet.row_values(1).index("status")
    # The person put a strict dropdown on row 2's status cell: Google refuses any write of
    # "done" there, and with it the whole flush, every time.
    sheet.spreadsheet.batch_update({"requests": [{"setDataValidation": {
        "range": {"sheetId": sheet.id, "startRowIndex": 1, "endRowIndex": 2,
                  "startColumnIndex": status, "endColumnIndex": status + 1},
        "rule": {"condition": {"type": "ONE_OF_LIST",
                               "values": [{"userEnteredValue": "todo"}]}, "strict": True}}}]})
    make_image(services, batch_id, 2)
    make_image(services, batch_id, 3)
    flushed(services, batch_id)
    assert status_column(sheet) == ["queued", "done"]  # the other row landed
    refused = sheet.get_all_records()[0]
    assert refused["error"].startswith("Status could not be written to this row: Google Sheets "
                                       "refused it (The data you entered violates")
    sent = len(fresh_emulator.log)
    for _ in range(3):
        services.sheets.writeback.flush_due()
    assert len(fresh_emulator.log) == sent  # never retried
    assert writeback(services, batch_id) == {"state": "ok", "message": ""}


def prepared_since(fresh_emulator, since: int) -> list[dict]:
    """The start's own requests (anchors, result columns) sent since log entry `since`."""
    return [entry for entry in fresh_emulator.log[since:]
            if any(word in str(entry["body"]) for word in ("createDeveloperMetadata",
                                                          "appendDimension"))]


def sheet_of_prompts(fresh_emulator, rows: int, width: int = 3, columns: int = 26,
                     grid_rows: int | None = None) -> gspread.Worksheet:
    sheet = make_sheet(fresh_emulator)
    sheet.resize(rows=grid_rows or rows + 1, cols=columns)
    header = ["prompt", "visibility", "num_images"] + [None] * (width - 4) + (
        ["mine"] if width > 3 else [])
    sheet.update([header] + [[f"a kite {row}", "private", 1] for row in range(rows)], "A1")
    return sheet


def test_two_batches_of_499_rows_fit_and_a_third_is_refused_before_anything_is_written(
        services, fresh_emulator):
    sheet = sheet_of_prompts(fresh_emulator, 499)
    stopped = start(services, sheet)
    services.batches.stop(stopped)  # its anchors stay a day, so that it can be resumed
    second = start(services, sheet)
    assert len(row_anchors(fresh_emulator, sheet, stopped)) == 499
    assert len(row_anchors(fresh_emulator, sheet, second)) == 499
    metadata = dict(fresh_emulator.state.spreadsheets[sheet.spreadsheet.id].metadata)
    writes = len(fresh_emulator.log)
    with pytest.raises(SheetFull) as refused:
        start(services, sheet)
    assert "Finish or delete that batch, or start with fewer rows; nothing was written" in str(
        refused.value)
    assert fresh_emulator.state.spreadsheets[sheet.spreadsheet.id].metadata == metadata
    assert not prepared_since(fresh_emulator, writes)
    assert services.budgets.state(OWNER).reserved == 0


@pytest.mark.parametrize("columns, width, says", [
    (18_278, 18_270, "stops at column ZZZ (18,278 columns)"),
    (9_995, 9_993, "over Google Sheets' limit of 10,000,000"),
])
def test_a_sheet_without_room_for_result_columns_is_refused_clearly(services, fresh_emulator,
                                                                    columns, width, says):
    grid_rows = 4 if columns > 10_000 else 1000  # 1000 x 9,995 cells: just under 10 million
    sheet = sheet_of_prompts(fresh_emulator, 3, width=width, columns=columns, grid_rows=grid_rows)
    since = len(fresh_emulator.log)
    with pytest.raises(SheetFull, match=re.escape(says)):
        start(services, sheet)
    assert not prepared_since(fresh_emulator, since)
    assert sheet.col_count == columns


def test_a_quota_429_without_retry_after_backs_off_longer_each_time(services, fresh_emulator):
    """Google's quota 429 says nothing about when: write-back waits longer after each one
    (truncated exponential back-off), keeps the rows, and writes them once the quota allows."""
    sheet = make_sheet(fresh_emulator)
    batch_id = start(services, sheet)
    store_token(services.batches.redis, OWNER, TOKEN, 600)
    make_image(services, batch_id, 2)
    fresh_emulator.set_quota(write=0)  # every write is over the person's quota
    redis, backoff = services.batches.redis, keys.flush(sheet.spreadsheet.id, "backoff")
    waits = []
    for _ in range(2):
        wait_for(lambda: services.sheets.writeback.flush_due() or redis.exists(backoff),
                 timeout=10, what="a refused flush")
        waits.append(redis.pttl(backoff))
        wait_for(lambda: not redis.exists(backoff), timeout=10, what="the back-off to lapse")
    assert 0 < waits[0] < waits[1]  # 0.4 s, then 0.8 s (flush interval 0.2 s)
    assert redis.smembers(BatchKeys(batch_id).part("dirty")) == {b"2"}
    fresh_emulator.set_quota(write=60)
    flushed(services, batch_id)
    assert status_column(sheet) == ["done", "queued"]


def test_metadata_on_another_tab_is_found_by_googles_refusal_and_nothing_is_written(
        services, fresh_emulator):
    """Our check sees the batch's own tab; what another tab holds counts too (the spreadsheet's
    limit): Google refuses the start's one request as a whole, and the person reads why."""
    sheet = sheet_of_prompts(fresh_emulator, 499)
    other = sheet.spreadsheet.add_worksheet("notes", rows=10, cols=5)
    sheet.spreadsheet.batch_update({"requests": [{"createDeveloperMetadata": {
        "developerMetadata": {"metadataKey": "someone.else", "metadataValue": "x" * 20_000,
                              "visibility": "DOCUMENT", "location": {"sheetId": other.id}}}}]})
    since = len(fresh_emulator.log)
    with pytest.raises(SheetFull, match="Google Sheets refused to prepare the sheet .*30000.*"
                                        "nothing was written and nothing will be paid"):
        start(services, sheet)
    assert our_metadata(fresh_emulator, sheet) == [] and "status" not in sheet.row_values(1)
    assert len([e for e in fresh_emulator.log[since:] if e["status"] == 400]) == 1
