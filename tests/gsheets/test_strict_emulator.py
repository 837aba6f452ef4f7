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
from server.money.prices import PriceTable
from server.sheet.validation import validate
from tests.sheets_emulator import EmulatorServer, discovery
from tests.sheets_emulator.errors import ApiError

PRICES = PriceTable.load()


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
    report = validate(contents.rows, PRICES)
    grid.mark(contents, report)
    assert grid.fix(contents, report) == 4  # every ratio became a time
    SheetGrid(gc, ws.spreadsheet.id, memory=MarkMemory(redis_conn)).read()  # first tab, no id
    grid.insert_template(full=True)
    ws.update([["a dog", "public"], ["a bird", "public"]], "A3")
    contents = grid.read()
    report = validate(contents.rows, PRICES)
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
    refused(batch(server, sid, row_metadata(visibility="DEVELOPER_METADATA_VISIBILITY_UNSPECIFIED")),
            "visibility")
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
