"""What the Apps Script add-in relies on, through Flask's test client with real Redis, the local
Google token issuer and the Sheets emulator over HTTP: safe retries, small polls, the token's
real life, statuses from the backend."""
from __future__ import annotations

import json

import pytest

from server.batches import keys
from server.sheet.statuses import COUNT_NAMES, BatchStatus, RowStatus
from testkit.clients import addin_headers, gspread_client

ALICE = "alice@example.com"


@pytest.fixture
def app_settings(emulator) -> dict:
    """The add-in's app: Sheets at the emulator, and a monthly budget to spend."""
    return {"google_api_url": emulator.url, "monthly_budget": 100}


@pytest.fixture
def alice(google) -> dict:
    return addin_headers(google, ALICE)


@pytest.fixture
def sheet(emulator, alice):
    gc = gspread_client(emulator, alice["X-Google-Access-Token"])
    ws = gc.create("add-in").sheet1
    ws.update([["prompt", "visibility", "num_images", "aspect_ratio"],
               ["a kite", "private", 1, "1:1"], ["a boat", "public", 1, "16:9"]], "A1",
              value_input_option="USER_ENTERED")
    return ws


def test_a_retried_start_never_starts_twice(client, services, alice, sheet):
    body = {"spreadsheet_id": sheet.spreadsheet.id, "sheet_id": sheet.id, "confirm": True,
            "request_id": "start-7f3a9c1e"}
    first = client.post("/api/batches", headers=alice, json=body)
    assert first.status_code == 201, first.get_json()
    again = client.post("/api/batches", headers=alice, json=body)
    assert again.status_code == 201
    assert again.get_json()["batch"]["id"] == first.get_json()["batch"]["id"]
    assert len(services.batches.list_for(ALICE)) == 1
    other = client.post("/api/batches", headers=alice, json=body | {"request_id": "start-other1"})
    assert other.get_json()["batch"]["id"] != first.get_json()["batch"]["id"]


def test_a_start_still_running_answers_409(client, services, alice, sheet):
    services.batches.redis.set(keys.start_request(ALICE, "start-busy-01"), "starting")
    response = client.post("/api/batches", headers=alice, json={
        "spreadsheet_id": sheet.spreadsheet.id, "confirm": True, "request_id": "start-busy-01"})
    assert response.status_code == 409 and response.get_json()["error"] == "starting"
    assert services.batches.list_for(ALICE) == []


def test_a_start_that_failed_may_be_retried_with_the_same_id(client, services, alice, sheet,
                                                             emulator):
    body = {"spreadsheet_id": sheet.spreadsheet.id, "confirm": True, "request_id": "start-503-01"}
    emulator.inject(status=503, count=1)
    failed = client.post("/api/batches", headers=alice, json=body)
    assert failed.status_code == 503 and failed.headers["Retry-After"]
    assert client.post("/api/batches", headers=alice, json=body).status_code == 201


@pytest.mark.parametrize("request_id", [5, "short", "x" * 101])
def test_a_bad_request_id_is_400(client, alice, sheet, request_id):
    response = client.post("/api/batches", headers=alice, json={
        "spreadsheet_id": sheet.spreadsheet.id, "confirm": True, "request_id": request_id})
    assert response.status_code == 400 and "request_id" in response.get_json()["message"]


def test_progress_is_small_whatever_the_batch_size(client, services, alice):
    from server.batches.record import SheetPlace
    from server.sheet.request import ImageRequest
    requests = {row: ImageRequest(prompt=f"p{row}", visibility="private", num_images=1)
                for row in range(2, 501)}
    batch_id = services.batches.create(requests, owner=ALICE, provider="preview",
                                       account="preview-account", title="big",
                                       sheet=SheetPlace("s" * 44, 123456))
    for row in requests:
        assert services.batches.claim(batch_id, row, 1, "w") == "ok"
        services.batches.settle(batch_id, row, 1, "w", "failed", {"error": "E" * 500})
    response = client.get(f"/api/batches/{batch_id}/progress", headers=alice)
    progress = response.get_json()
    assert len(response.get_data()) < 2048
    assert progress["counts"]["failed"] == 499 and len(progress["failed_rows"]) == 50
    assert progress["sheet_id"] == 123456 and progress["finished"] is True
    assert len(json.dumps(client.get(f"/api/batches/{batch_id}", headers=alice).get_json())) \
        > 2048 * 10  # the full status is what the poll no longer sends


def test_config_names_the_statuses_and_counts(client, alice):
    statuses = client.get("/api/config", headers=alice).get_json()["statuses"]
    assert statuses["row"] == list(RowStatus) and statuses["batch"] == list(BatchStatus)
    assert statuses["counts"] == list(COUNT_NAMES)
    assert "stopped" in statuses["finished"] and "running" not in statuses["finished"]


def test_problems_say_whether_fix_repairs_them(client, alice, sheet):
    report = client.post("/api/validate", headers=alice, json={
        "spreadsheet_id": sheet.spreadsheet.id, "sheet_id": sheet.id}).get_json()
    assert {w["cell"] for w in report["warnings"] if w["fixable"]} == {"D2", "D3"}
    sheet.update([["mine"], ["x"]], "E1")  # an unknown column: a warning Fix cannot repair
    report = client.post("/api/validate", headers=alice, json={
        "spreadsheet_id": sheet.spreadsheet.id, "sheet_id": sheet.id}).get_json()
    assert [w["fixable"] for w in report["warnings"] if w["column"] == "mine"] == [False]


def test_a_friendly_header_stops_the_start_and_fix_renames_it(client, services, alice, sheet):
    """`Num Images` and `Aspect Ratio` were ignored and every row made at 4 images 1:1: now the
    start is refused, the problems name their header cells, and one Fix makes the sheet ready."""
    sheet.update([["Num Images", "Aspect Ratio"]], "C1")
    where = {"spreadsheet_id": sheet.spreadsheet.id, "sheet_id": sheet.id}
    refused = client.post("/api/batches", headers=alice, json=where | {"confirm": True})
    assert refused.status_code == 422
    problems = refused.get_json()["report"]["errors"]
    assert [(p["cell"], p["fixable"]) for p in problems] == [("C1", True), ("D1", True)]
    assert "rename it to num_images" in problems[0]["message"]
    assert services.batches.list_for(ALICE) == []
    fixed = client.post("/api/fix", headers=alice, json=where).get_json()
    assert fixed["fixed"] == 2 and fixed["valid"] and fixed["images"] == 2
    assert sheet.row_values(1)[:4] == ["prompt", "visibility", "num_images", "aspect_ratio"]


def test_a_batch_waiting_on_no_worker_says_so(client, alice, sheet):
    started = client.post("/api/batches", headers=alice, json={
        "spreadsheet_id": sheet.spreadsheet.id, "sheet_id": sheet.id, "confirm": True})
    batch_id = started.get_json()["batch"]["id"]
    progress = client.get(f"/api/batches/{batch_id}/progress", headers=alice).get_json()
    assert progress["status"] == "queued"
    assert progress["notice"].startswith("The server has no worker running")
    assert "the command sheetbatch worker" in progress["notice"]


@pytest.mark.parametrize("lives", [120, 3599])
def test_the_stored_token_keeps_its_real_life(client, services, google, alice, lives):
    token = google.access_token(ALICE, expires_in=lives)
    assert client.post("/api/token", headers=alice, json={"access_token": token}).status_code == 204
    ttl = services.batches.redis.ttl(keys.sheets_token(ALICE))
    assert lives - 10 <= ttl <= lives


def test_someone_else_s_token_is_refused(client, google, alice):
    response = client.post("/api/token", headers=alice,
                           json={"access_token": google.access_token("mallory@example.com")})
    assert response.status_code == 401 and "another account" in response.get_json()["message"]
