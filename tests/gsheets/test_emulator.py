"""The Sheets emulator, driven by real gspread over real HTTP (via server/google_endpoint.py)."""
import subprocess
import sys

import gspread
import pytest
import requests

from testkit import ROOT
from testkit.clients import gspread_client
from testkit.sheets_emulator import EmulatorServer

CASSETTES = ROOT.parent / "shared" / "sheets-cassettes"


@pytest.fixture
def server():
    with EmulatorServer() as srv:
        yield srv


def client(server, token="tok-alice"):
    return gspread_client(server, token)


@pytest.fixture
def ws(server):
    return client(server).create("emulator test").sheet1


def api(server, method, path, token="tok-alice", **kw):
    return requests.request(method, server.url + path,
                            headers={"Authorization": f"Bearer {token}"}, **kw)


def batch_update(ws, *requests_):
    return ws.spreadsheet.batch_update({"requests": list(requests_)})


def test_create_and_default_shape(server):
    sh = client(server).create("Budget")
    meta = sh.fetch_sheet_metadata()
    assert meta["properties"]["title"] == "Budget"
    assert meta["properties"]["locale"] == "en_US"
    assert meta["sheets"][0]["properties"] == {
        "sheetId": 0, "title": "Sheet1", "index": 0, "sheetType": "GRID",
        "gridProperties": {"rowCount": 1000, "columnCount": 26}}
    assert server.state.spreadsheets[sh.id].properties["title"] == "Budget"


def test_raw_versus_user_entered(ws):
    ws.update([["=1+1", "3", "16:9"]], "A1", value_input_option="RAW")
    ws.update([["=1+1", "3", "16:9", "3.0"]], "A2", value_input_option="USER_ENTERED")
    assert ws.get("A1:D2") == [["=1+1", "3", "16:9"], ["2", "3", "16:09:00", "3"]]
    unformatted = ws.get("A2:C2", value_render_option="UNFORMATTED_VALUE")
    assert unformatted[0][:2] == [2, 3]
    assert unformatted[0][2] == pytest.approx((16 * 60 + 9) / 1440)
    assert ws.get("A1:A2", value_render_option="FORMULA") == [["=1+1"], ["=1+1"]]


def test_text_format_prevents_time_parsing(ws):
    batch_update(ws, {"repeatCell": {
        "range": {"sheetId": 0, "startRowIndex": 0, "endRowIndex": 1,
                  "startColumnIndex": 0, "endColumnIndex": 1},
        "cell": {"userEnteredFormat": {"numberFormat": {"type": "TEXT", "pattern": "@"}}},
        "fields": "userEnteredFormat.numberFormat"}})
    ws.update([["16:9"]], "A1", value_input_option="USER_ENTERED")
    assert ws.get("A1", value_render_option="UNFORMATTED_VALUE") == [["16:9"]]


def test_notes_roundtrip(server, ws):
    ws.update_notes({"A1": "first", "B3": "second"})
    notes = ws.get_notes()
    assert notes[0][0] == "first" and notes[2][:2] == ["", "second"]
    assert ws.get_note("B3") == "second" and ws.get_note("B1") == ""
    assert server.state.note(ws.spreadsheet.id, "Sheet1!B3") == "second"
    ws.clear_note("A1")
    assert server.state.note(ws.spreadsheet.id, "Sheet1!A1") is None


def test_batch_update_is_atomic(server, ws):
    with pytest.raises(gspread.exceptions.APIError) as err:
        batch_update(ws, {"addSheet": {"properties": {"title": "new"}}},
                     {"deleteSheet": {"sheetId": 424242}})
    assert err.value.response.status_code == 400
    assert "No sheet with id: 424242" in err.value.response.json()["error"]["message"]
    assert [s.title for s in server.state.spreadsheets[ws.spreadsheet.id].sheets] == ["Sheet1"]


def _row_metadata(ws, row, key="job"):
    reply = batch_update(ws, {"createDeveloperMetadata": {"developerMetadata": {
        "metadataKey": key, "metadataValue": f"row-{row}", "visibility": "DOCUMENT",
        "location": {"dimensionRange": {"sheetId": 0, "dimension": "ROWS",
                                        "startIndex": row, "endIndex": row + 1}}}}})
    return reply["replies"][0]["createDeveloperMetadata"]["developerMetadata"]["metadataId"]


def _anchor_row(server, ws, mid):
    r = api(server, "GET", f"/v4/spreadsheets/{ws.spreadsheet.id}/developerMetadata/{mid}")
    return r.json()["location"]["dimensionRange"]["startIndex"] if r.ok else None


def _dim(op, start, end):
    return {op: {"range": {"sheetId": 0, "dimension": "ROWS", "startIndex": start,
                           "endIndex": end}}}


def test_row_metadata_follows_its_row(server, ws):
    ws.update([["c"], ["a"], ["b"]], "A1")
    mid = _row_metadata(ws, 2)  # the row holding "b"
    batch_update(ws, _dim("insertDimension", 0, 2))
    assert _anchor_row(server, ws, mid) == 4
    batch_update(ws, _dim("deleteDimension", 0, 1))
    assert _anchor_row(server, ws, mid) == 3
    assert ws.get("A1:A4") == [[], ["c"], ["a"], ["b"]]
    batch_update(ws, {"sortRange": {
        "range": {"sheetId": 0, "startRowIndex": 1, "endRowIndex": 4},
        "sortSpecs": [{"dimensionIndex": 0, "sortOrder": "ASCENDING"}]}})
    assert ws.get("A2:A4") == [["a"], ["b"], ["c"]]
    assert _anchor_row(server, ws, mid) == 2  # "b" moved up, so did its metadata
    batch_update(ws, _dim("deleteDimension", 2, 3))
    assert _anchor_row(server, ws, mid) is None  # deleted with its row


def test_batch_update_by_data_filter_writes_anchored_row(server, ws):
    mid = _row_metadata(ws, 5, key="order")
    batch_update(ws, _dim("insertDimension", 0, 1))
    body = {"valueInputOption": "RAW", "data": [{
        "dataFilter": {"developerMetadataLookup": {"metadataId": mid}},
        "values": [["x", "y"]]}]}
    r = api(server, "POST", f"/v4/spreadsheets/{ws.spreadsheet.id}/values:batchUpdateByDataFilter",
            json=body)
    assert r.status_code == 200, r.text
    assert r.json()["responses"][0]["updatedRange"] == "Sheet1!A7:B7"
    assert ws.get("A7:B7") == [["x", "y"]]
    found = api(server, "POST", f"/v4/spreadsheets/{ws.spreadsheet.id}/developerMetadata:search",
                json={"dataFilters": [{"developerMetadataLookup": {"metadataKey": "order"}}]})
    assert found.json()["matchedDeveloperMetadata"][0]["developerMetadata"]["metadataId"] == mid


def test_batch_update_by_data_filter_as_documented(server, ws):
    """Null values leave cells alone; values go to every range a filter matches, and each range
    updated has its response ("The response for each range updated"); a filter that matches
    nothing has no response; values wider than a matched range fail the request."""
    ws.update([["keep", "keep"], ["keep", "keep"]], "A1")
    for row in (0, 1):
        _row_metadata(ws, row, key="both")
    path = f"/v4/spreadsheets/{ws.spreadsheet.id}/values:batchUpdateByDataFilter"

    def lookup(key):
        return {"developerMetadataLookup": {"metadataKey": key}}

    r = api(server, "POST", path, json={"valueInputOption": "USER_ENTERED", "data": [
        {"dataFilter": lookup("both"), "values": [[None, "'=text", "=1+1"]]},
        {"dataFilter": lookup("nothing"), "values": [["x"]]}]})
    assert r.status_code == 200, r.text
    assert [(resp["dataFilter"], resp["updatedRange"]) for resp in r.json()["responses"]] == [
        (lookup("both"), "Sheet1!A1:C1"), (lookup("both"), "Sheet1!A2:C2")]
    assert r.json()["totalUpdatedRows"] == 2
    assert ws.get("A1:C2") == [["keep", "=text", "2"]] * 2  # the quote keeps text as text
    too_wide = [[None] * (ws.col_count + 1)]
    r = api(server, "POST", path, json={"valueInputOption": "RAW", "data": [
        {"dataFilter": lookup("both"), "values": too_wide}]})
    assert r.status_code == 400


def test_write_quota_is_per_user(server):
    sid = server.state.create("quota").id
    path = f"/v4/spreadsheets/{sid}/values/A1?valueInputOption=RAW"
    statuses = [api(server, "PUT", path, json={"values": [[i]]}).status_code for i in range(61)]
    assert statuses[:60] == [200] * 60
    assert statuses[60] == 429
    err = api(server, "PUT", path, json={"values": [[1]]}).json()["error"]
    assert err["status"] == "RESOURCE_EXHAUSTED" and "'Write requests'" in err["message"]
    assert api(server, "PUT", path, token="tok-bob", json={"values": [[1]]}).status_code == 200
    assert api(server, "GET", f"/v4/spreadsheets/{sid}/values/A1").status_code == 200  # reads ok
    assert server.peak_in_window("write", 60, token="tok-alice") == 62
    assert server.count(kind="write", token="tok-bob") == 1


def test_injected_500_and_missing_auth(server, ws):
    server.inject(status=500, count=1, path_contains="/values/")
    with pytest.raises(gspread.exceptions.APIError) as err:
        ws.get("A1")
    assert err.value.response.json()["error"]["status"] == "INTERNAL"
    assert ws.get("A1") == [[]]
    r = requests.get(f"{server.url}/v4/spreadsheets/{ws.spreadsheet.id}")
    assert r.status_code == 401 and r.json()["error"]["status"] == "UNAUTHENTICATED"
    assert api(server, "GET", "/v4/spreadsheets/nope").json() == {"error": {
        "code": 404, "message": "Requested entity was not found.", "status": "NOT_FOUND"}}


def test_unparsable_range(server, ws):
    r = api(server, "GET", f"/v4/spreadsheets/{ws.spreadsheet.id}/values/Nope!A1")
    assert r.status_code == 400
    assert r.json()["error"]["message"] == "Unable to parse range: Nope!A1"


@pytest.mark.skipif(not CASSETTES.is_dir(), reason="no recorded cassettes")
@pytest.mark.processes
def test_replay_all_recordings():
    proc = subprocess.run([sys.executable, "-m", "testkit.sheets_emulator.replay",
                           str(CASSETTES)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    lines = proc.stdout.strip().splitlines()
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    total = lines[-1].split("/")[-1].split()[0]
    assert lines[-1] == f"replayed: {total}/{total} interactions match"


# --- named ranges, filters, merges, groups, paste, Drive copy/export -----------------
def _sheet_meta(ws):
    return ws.spreadsheet.fetch_sheet_metadata()["sheets"][0]


def test_named_range_define_read_delete(ws):
    ws.update([["a", "b"], ["c", "d"]], "A1")
    reply = ws.define_named_range("A1:B2", "Pair")
    nr = reply["replies"][0]["addNamedRange"]["namedRange"]
    assert nr["range"] == {"startRowIndex": 0, "endRowIndex": 2,  # sheetId 0 is not printed
                           "startColumnIndex": 0, "endColumnIndex": 2}
    assert ws.get("Pair") == [["a", "b"], ["c", "d"]]  # gspread sends 'Sheet1'!Pair
    ws.delete_named_range(nr["namedRangeId"])
    assert ws.spreadsheet.list_named_ranges() == []


def test_basic_filter_fills_open_ends_and_clears(ws):
    ws.resize(20, 20)
    ws.set_basic_filter()
    assert _sheet_meta(ws)["basicFilter"]["range"] == {
        "startRowIndex": 0, "endRowIndex": 20, "startColumnIndex": 0, "endColumnIndex": 20}
    ws.clear_basic_filter()
    assert "basicFilter" not in _sheet_meta(ws)


def test_merge_all_over_row_merges_replaces_them_and_keeps_top_left(ws):
    ws.update([[42, 43], [43, 44]], "A1")
    ws.merge_cells("A1:B2", merge_type="MERGE_ROWS")
    assert len(_sheet_meta(ws)["merges"]) == 2
    ws.merge_cells("A1:B2")
    assert _sheet_meta(ws)["merges"] == [{"startRowIndex": 0, "endRowIndex": 2,
                                          "startColumnIndex": 0, "endColumnIndex": 2}]
    assert ws.get("A1:B2") == [["42"]]


def test_row_groups_nest_and_set_control_after(ws):
    ws.add_dimension_group_rows(0, 4)
    ws.add_dimension_group_rows(1, 2)
    assert [(g["range"]["startIndex"], g["range"]["endIndex"], g["depth"])
            for g in ws.list_dimension_group_rows()] == [(0, 4, 1), (1, 2, 2)]
    assert _sheet_meta(ws)["properties"]["gridProperties"]["rowGroupControlAfter"] is True
    ws.delete_dimension_group_rows(0, 4)
    ws.delete_dimension_group_rows(1, 2)
    assert "rowGroups" not in _sheet_meta(ws)


def test_tab_color_is_float32_without_zeros_and_clears(ws):
    ws.update_tab_color("#FF007F")
    props = _sheet_meta(ws)["properties"]
    assert props["tabColorStyle"] == {"rgbColor": {"red": 1, "blue": 0.49803922}}
    ws.clear_tab_color()
    props = _sheet_meta(ws)["properties"]
    assert "tabColor" not in props and "tabColorStyle" not in props


def test_hide_show_worksheet_prints_no_false(ws):
    ws.hide()
    assert _sheet_meta(ws)["properties"]["hidden"] is True
    ws.show()
    assert "hidden" not in _sheet_meta(ws)["properties"]


def test_copy_and_cut_range(ws):
    ws.update([["a", "b"], ["1", "2"]], "A1")
    ws.copy_range("A1:B2", "D1")
    ws.cut_range("D1:E2", "G1")
    assert ws.get("A1:H2") == [["a", "b", "", "", "", "", "a", "b"],
                               ["1", "2", "", "", "", "", "1", "2"]]


def test_drive_copy_export_and_sheet_copy_to(server):
    gc = client(server)
    sh = gc.create("Orig")
    sh.sheet1.update([["a1", "B2"]], "A1")
    assert sh.export(gspread.utils.ExportFormat.CSV) == b"a1,B2"
    dup = gc.copy(sh.id)
    assert dup.title == "Copy of Orig" and dup.sheet1.get("A1:B1") == [["a1", "B2"]]
    props = sh.sheet1.copy_to(dup.id)
    assert props["title"] == "Copy of Sheet1" and props["index"] == 1
