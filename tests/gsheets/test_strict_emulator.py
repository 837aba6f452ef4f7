"""The emulator refuses what Sheets v4 refuses, and everything our code sends is valid Sheets v4
according to Google's own discovery document (shipped in google-api-python-client)."""
from __future__ import annotations

import uuid

import pytest
import requests

from server.config import Settings
from server.gsheets.client import sheets_client
from server.gsheets.grid import SheetGrid
from server.gsheets.marks import MarkMemory
from server.sheet.validation import validate
from testkit.processes import wait_for
from testkit.sheets_emulator import EmulatorServer, discovery
from testkit.sheets_emulator.errors import ApiError


@pytest.fixture
def server():
    with EmulatorServer() as srv:
        yield srv


@pytest.fixture
def gc(server):
    return sheets_client(f"tok-{uuid.uuid4().hex[:8]}", Settings(google_api_url=server.url))


def api(server, method, path, token="tok-alice", **kw):
    return requests.request(method, server.url + path,
                            headers={"Authorization": f"Bearer {token}"}, **kw)


def new_spreadsheet(server, token="tok-alice"):
    return api(server, "POST", "/v4/spreadsheets", token,
               json={"properties": {"title": "t"}}).json()["spreadsheetId"]


def batch(server, sid, *reqs, token="tok-alice"):
    return api(server, "POST", f"/v4/spreadsheets/{sid}:batchUpdate", token,
               json={"requests": list(reqs)})


def row_metadata(key="k", value="v", start=1, end=2, visibility="DOCUMENT"):
    md = {"metadataKey": key, "metadataValue": value, "visibility": visibility,
          "location": {"dimensionRange": {"sheetId": 0, "dimension": "ROWS",
                                          "startIndex": start, "endIndex": end}}}
    return {"createDeveloperMetadata": {"developerMetadata": md}}


def refused(response, *words):
    assert response.status_code == 400, response.text
    message = response.json()["error"]["message"]
    assert all(word in message for word in words), message


# --- everything our code sends ------------------------------------------------------------------
SHEET = [["prompt", "visibility", "aspect_ratio", "model", "mine"],
         ["a cat", "public", "16:9", "3"],
         ["a dog", "maybe", "1:1", "2"],
         ["", "public", "1:1", "3"],
         ["an owl", "private", "4:3", "3"]]


def test_every_request_our_code_sends_is_valid_sheets_v4(server, gc, redis_conn):
    """Drive each Sheets operation of ours (read, mark, fix, template, start, write-back,
    clear anchors), then check every logged request against the discovery document."""
    ws = gc.create("batch").sheet1
    ws.update(SHEET, "A1", value_input_option="USER_ENTERED")
    ws.update_notes({"B3": "a note of the person's"})
    start = len(server.log)
    grid = SheetGrid(gc, ws.spreadsheet.id, ws.id, memory=MarkMemory(redis_conn))
    contents = grid.read()
    report = validate(contents.rows)
    grid.mark(contents, report)
    assert grid.fix(contents, report) == 4  # every ratio became a time
    SheetGrid(gc, ws.spreadsheet.id, memory=MarkMemory(redis_conn)).read()  # first tab, no id
    grid.insert_template(full=True)
    ws.update([["a dog", "public"], ["a bird", "public"]], "A3")
    contents = grid.read()
    report = validate(contents.rows)
    grid.mark(contents, report)
    grid.prepare_batch(contents, "b1", report.rows, report)
    grid.write_results({"b1": {2: {"status": "done", "image_1": "https://img.example/1.png",
                                   "preview": "https://img.example/t.png", "used_seed": 7},
                               3: {"status": "failed", "error": "=not a formula"}}})
    grid.clear_batch_anchors("b1")

    ours = server.log[start:]
    for record in ours:
        assert record["status"] == 200, record
        discovery.check_request(record["method"], record["path"], record["args"],
                                record["body"])
    sub_requests = {kind for record in ours if record["path"].endswith(":batchUpdate")
                    for r in record["body"]["requests"] for kind in r}
    assert {"repeatCell", "updateCells", "createDeveloperMetadata",
            "deleteDeveloperMetadata", "addSheet"} <= sub_requests
    searched = [r for r in ours if r["path"].endswith("/developerMetadata:search")]
    assert searched and all(r["body"]["dataFilters"] for r in searched)


def test_the_checker_reads_google_s_document():
    assert discovery.document()["id"] == "sheets:v4"
    method = discovery.find_method("POST", "/v4/spreadsheets/abc/values/A1:append")
    assert method["id"] == "sheets.spreadsheets.values.append"
    with pytest.raises(ApiError):
        discovery.find_method("PATCH", "/v4/spreadsheets/abc")


# --- what Sheets v4 refuses -----------------------------------------------------------------------
def test_unknown_fields_are_refused(server):
    sid = new_spreadsheet(server)
    refused(batch(server, sid, {"repeatCell": {
        "range": {"sheetId": 0}, "cell": {"note": "x"}, "fields": "note", "colour": "red"}}),
        'Unknown name "colour"', "requests[0].repeatCell")
    refused(api(server, "POST", f"/v4/spreadsheets/{sid}:batchUpdate",
                json={"requests": [{"addSheet": {}}], "dryRun": True}), 'Unknown name "dryRun"')
    refused(api(server, "POST", f"/v4/spreadsheets/{sid}/developerMetadata:search",
                json={"dataFilters": [{"developerMetadataLookup": {"key": "k"}}]}),
            'Unknown name "key"')
    refused(api(server, "GET", f"/v4/spreadsheets/{sid}", params={"includeData": "true"}),
            'Unknown name "includeData"', "query parameter")


def test_field_mask_paths_must_name_fields(server):
    sid = new_spreadsheet(server)
    refused(batch(server, sid, {"repeatCell": {
        "range": {"sheetId": 0}, "cell": {}, "fields": "userEnteredFormat.bgColor"}}),
        "userEnteredFormat.bgColor")
    refused(api(server, "GET", f"/v4/spreadsheets/{sid}",
                params={"fields": "sheets(properties(sheetId),developerMetadata(key))"}),
            "developerMetadata.key")
    ok = batch(server, sid, {"repeatCell": {"range": {"sheetId": 0}, "cell": {},
                                            "fields": "note,userEnteredFormat.backgroundColor"}})
    assert ok.status_code == 200, ok.text


def test_enums_and_types_are_checked(server):
    sid = new_spreadsheet(server)
    refused(batch(server, sid, row_metadata(visibility="EVERYONE")), "TYPE_ENUM", "EVERYONE")
    refused(batch(server, sid, {"appendDimension": {"sheetId": 0, "dimension": "ROWS",
                                                    "length": "many"}}), "TYPE_INT32")


def test_developer_metadata_rules(server):
    sid = new_spreadsheet(server)
    refused(batch(server, sid, row_metadata(key="")), "metadataKey must be specified")
    no_visibility = row_metadata()
    del no_visibility["createDeveloperMetadata"]["developerMetadata"]["visibility"]
    refused(batch(server, sid, no_visibility), "visibility")
    unspecified = row_metadata(visibility="DEVELOPER_METADATA_VISIBILITY_UNSPECIFIED")
    refused(batch(server, sid, unspecified), "visibility")
    unbounded = row_metadata()
    del unbounded["createDeveloperMetadata"]["developerMetadata"]["location"][
        "dimensionRange"]["endIndex"]
    refused(batch(server, sid, unbounded), "bounded")
    refused(batch(server, sid, row_metadata(start=999, end=1001)), "outside the sheet")


def test_metadata_size_per_sheet_is_limited_and_a_refused_batch_changes_nothing(server):
    sid = new_spreadsheet(server)
    big = "x" * 9_990
    assert batch(server, sid, *[row_metadata(value=big, start=i, end=i + 1)
                                for i in range(3)]).status_code == 200
    response = batch(server, sid, row_metadata(key="small"),
                     row_metadata(value=big, start=5, end=6))
    refused(response, "requests[1]", "30000")
    assert len(server.state.spreadsheets[sid].metadata) == 3


def test_row_metadata_is_listed_under_its_row_not_the_sheet(server):
    sid = new_spreadsheet(server)
    batch(server, sid, row_metadata(start=3, end=4),
          {"createDeveloperMetadata": {"developerMetadata": {
              "metadataKey": "on-sheet", "visibility": "DOCUMENT", "location": {"sheetId": 0}}}})
    got = api(server, "GET", f"/v4/spreadsheets/{sid}", params={
        "ranges": "Sheet1!A1:B5", "includeGridData": "true",
        "fields": "sheets(developerMetadata(metadataKey),"
                  "data(rowMetadata(developerMetadata(metadataKey))))"}).json()
    sheet = got["sheets"][0]
    assert [m["metadataKey"] for m in sheet["developerMetadata"]] == ["on-sheet"]
    rows = sheet["data"][0]["rowMetadata"]
    assert [i for i, r in enumerate(rows) if r.get("developerMetadata")] == [3]


def test_a_location_lookup_matches_intersecting_locations_by_default(server):
    sid = new_spreadsheet(server)
    batch(server, sid, row_metadata(key="row", start=3, end=4))
    where = {"dimensionRange": {"sheetId": 0, "dimension": "ROWS", "startIndex": 0,
                                "endIndex": 10}}
    search = f"/v4/spreadsheets/{sid}/developerMetadata:search"
    found = api(server, "POST", search, json={"dataFilters": [
        {"developerMetadataLookup": {"metadataLocation": where}}]}).json()
    assert [m["developerMetadata"]["metadataKey"] for m in found["matchedDeveloperMetadata"]] \
        == ["row"]
    exact = api(server, "POST", search, json={"dataFilters": [{"developerMetadataLookup": {
        "metadataLocation": where, "locationMatchingStrategy": "EXACT_LOCATION"}}]}).json()
    assert exact == {}


def test_quota_per_project_counts_every_user(server):
    server.set_quota(project_read=5)
    sid = new_spreadsheet(server, token="tok-owner")
    answers = [api(server, "GET", f"/v4/spreadsheets/{sid}", token=f"tok-{i}").status_code
               for i in range(6)]
    assert answers[:5] == [200] * 5 and answers[5] == 429
    error = api(server, "GET", f"/v4/spreadsheets/{sid}", token="tok-9").json()["error"]
    assert "per minute'" in error["message"] and "per user" not in error["message"]


def test_quota_per_user(server):
    server.set_quota(read=2)
    sid = new_spreadsheet(server)
    answers = [api(server, "GET", f"/v4/spreadsheets/{sid}").status_code for _ in range(3)]
    assert answers == [200, 200, 429]
    assert api(server, "GET", f"/v4/spreadsheets/{sid}", token="tok-bob").status_code != 429


# --- issue 21: all or nothing, Google's size limits, quotas per person -------------------------

def test_value_batches_are_all_or_nothing(server):
    sid = new_spreadsheet(server)
    batch(server, sid, row_metadata(key="row", start=1, end=2))
    base = f"/v4/spreadsheets/{sid}/values"
    by_range = api(server, "POST", base + ":batchUpdate", json={
        "valueInputOption": "RAW", "data": [{"range": "Sheet1!A1", "values": [["first"]]},
                                            {"range": "Sheet1!A1:A1", "values": [["a", "b"]]}]})
    refused(by_range)
    by_filter = api(server, "POST", base + ":batchUpdateByDataFilter", json={
        "valueInputOption": "RAW", "data": [
            {"dataFilter": {"developerMetadataLookup": {"metadataKey": "row"}},
             "values": [["first"]]},
            {"dataFilter": {"a1Range": "Sheet1!A3"}, "values": [["x" * 50_001]]}]})
    refused(by_filter, "50000 characters")
    assert server.state.values(sid, "Sheet1!A1:A2") == [[None], [None]]  # neither part landed


def test_a_cell_holds_at_most_50000_characters(server):
    sid = new_spreadsheet(server)
    path = f"/v4/spreadsheets/{sid}/values/Sheet1!A1?valueInputOption=RAW"
    assert api(server, "PUT", path, json={"values": [["x" * 50_000]]}).status_code == 200
    refused(api(server, "PUT", path, json={"values": [["x" * 50_001]]}),
            "more than the maximum of 50000 characters in a single cell")
    refused(batch(server, sid, {"updateCells": {
        "range": {"sheetId": 0, "startRowIndex": 1, "endRowIndex": 2, "startColumnIndex": 0,
                  "endColumnIndex": 1},
        "rows": [{"values": [{"userEnteredValue": {"stringValue": "y" * 50_001}}]}],
        "fields": "userEnteredValue"}}), "50000 characters")


def test_a_spreadsheet_holds_10_million_cells_and_18278_columns(server):
    sid = new_spreadsheet(server)  # Sheet1: 1000 rows x 26 columns

    def columns(n):
        return {"appendDimension": {"sheetId": 0, "dimension": "COLUMNS", "length": n}}

    refused(batch(server, sid, columns(18_279 - 26)), "18278 columns")
    assert batch(server, sid, columns(9_974)).status_code == 200  # 1000 x 10,000: 10 million
    refused(batch(server, sid, {"appendDimension": {"sheetId": 0, "dimension": "ROWS",
                                                    "length": 1}}), "10000000 cells")
    refused(batch(server, sid, {"addSheet": {"properties": {"title": "more"}}}), "10000000")
    assert server.state.spreadsheets[sid].sheets[0].col_count == 10_000


def test_metadata_is_limited_per_spreadsheet_too(server):
    sid = new_spreadsheet(server)
    batch(server, sid, {"addSheet": {"properties": {"sheetId": 7, "title": "second"}}})
    half = "x" * 16_000
    assert batch(server, sid, row_metadata(value=half)).status_code == 200
    on_second = row_metadata(value=half)
    on_second["createDeveloperMetadata"]["developerMetadata"]["location"]["dimensionRange"][
        "sheetId"] = 7
    refused(batch(server, sid, on_second), "spreadsheet", "30000")  # each sheet alone would fit


def test_quota_is_per_person_refilled_each_minute_without_retry_after(server):
    server.state.emails.update({"tok-old": "alice@example.com", "tok-new": "alice@example.com",
                                "tok-bob": "bob@example.com"})
    server.set_quota(read=2, window=3.0)  # a three-second "minute"
    sid = new_spreadsheet(server, token="tok-old")

    def read(token):
        return api(server, "GET", f"/v4/spreadsheets/{sid}", token=token)

    # A refreshed token of the same person shares the quota: old, new, then new is over it.
    def in_one_minute():
        answers = [read(token) for token in ("tok-old", "tok-new", "tok-new")]
        return [a.status_code for a in answers] == [200, 200, 429] and answers[2].headers
    over = wait_for(in_one_minute, timeout=30, what="three reads inside one minute")
    assert "Retry-After" not in over
    assert read("tok-bob").status_code != 429
    wait_for(lambda: read("tok-new").status_code == 200, timeout=30, what="the next minute")


def test_a_token_of_nobody_is_refused(server):
    sid = new_spreadsheet(server)  # an emulator told of no one takes any token
    server.state.emails["tok-alice"] = "alice@example.com"
    answer = api(server, "GET", f"/v4/spreadsheets/{sid}", token="tok-made-up")
    assert answer.status_code == 401
    assert "invalid authentication credentials" in answer.json()["error"]["message"]
    assert api(server, "GET", f"/v4/spreadsheets/{sid}", token="tok-alice").status_code == 200


def test_drive_calls_are_checked_against_drive_v3s_document(server):
    sid = new_spreadsheet(server)
    permissions = f"/drive/v3/files/{sid}/permissions"
    refused(api(server, "POST", permissions, json={"type": "anyone", "role": "reader",
                                                   "withLink": True}), "withLink")
    refused(api(server, "POST", permissions, params={"sendNotificationEmails": "false"},
                json={"type": "user", "role": "writer", "emailAddress": "a@example.com"}),
            "sendNotificationEmails")
    shared = api(server, "POST", permissions, params={"sendNotificationEmail": "false"},
                 json={"type": "user", "role": "writer", "emailAddress": "a@example.com"})
    assert shared.status_code == 200, shared.text
    refused(api(server, "GET", f"/drive/v3/files/{sid}", params={"fields": "id,title"}), "title")
    assert discovery.find_method("POST", "/drive/v3/files/x/copy", "drive")["id"] == \
        "drive.files.copy"
