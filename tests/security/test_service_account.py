"""The service account never opens a sheet for a caller (issue 10, finding 1).

All real parts: a real service-account JSON key file (a fresh RSA key) whose token endpoint is the
local fake Google issuer (JWT-bearer grant), gspread over HTTP to the Sheets emulator with its ACLs
on, the embedded Redis, and the Flask app. Bob's sheet is shared with the service account; Alice,
signed in with only an identity token, must not reach it through us.
"""
from __future__ import annotations

import gspread
import pytest

from server.batches import keys
from server.gsheets.endpoint import point_session_at
from server.gsheets.grid import SheetGrid
from testkit.clients import gspread_client
from testkit.processes import wait_for

ALICE, BOB = "alice@example.com", "bob@example.com"
ROBOT = "sheetbatch@sheetbatch-test.iam.gserviceaccount.com"
ROWS = [["prompt", "visibility", "num_images"], ["a kite", "private", 1], ["a boat", "public", 1]]


@pytest.fixture
def acl_emulator(emulator, google):
    """The emulator refuses a token whose account the sheet is not shared with."""
    emulator.state.emails = google.emails
    yield emulator
    emulator.state.emails = {}


@pytest.fixture
def app_settings(google, acl_emulator, tmp_path) -> dict:
    """Sheets at the emulator with its ACLs, and the robot's key: write-back may use it."""
    key_file = google.service_account_file(tmp_path / "service-account.json", ROBOT)
    return {"google_api_url": acl_emulator.url, "service_account_file": str(key_file),
            "flush_interval": 0.1}


def person_sheet(google, emulator, email: str, title: str) -> gspread.Worksheet:
    """A sheet `email` owns, shared (as editor) with the service account."""
    client = gspread_client(emulator, google.access_token(email))
    spreadsheet = client.create(title)
    spreadsheet.sheet1.update(ROWS, "A1")
    # Drive v3's permissions.create, as its document describes it (gspread's share() adds a
    # "withLink" field Drive v3 does not have).
    client.http_client.request(
        "post", f"{emulator.url}/drive/v3/files/{spreadsheet.id}/permissions",
        params={"sendNotificationEmail": "false"},
        json={"type": "user", "role": "writer", "emailAddress": ROBOT})
    return spreadsheet.sheet1


def test_the_service_account_really_can_open_the_shared_sheet(app_settings, google,
                                                              acl_emulator):
    """The premise of the attack: the robot's key works and Bob shared his sheet with it."""
    sheet = person_sheet(google, acl_emulator, BOB, "Bob's")
    robot = gspread.service_account(filename=app_settings["service_account_file"])
    point_session_at(robot.http_client.session, acl_emulator.url)
    contents = SheetGrid(robot, sheet.spreadsheet.id).read()
    assert contents.rows[1][0] == "a kite"
    robot_tokens = {token for token, email in google.emails.items() if email == ROBOT}
    assert robot_tokens and acl_emulator.log[-1]["token"] in robot_tokens


SHEET_ROUTES = [("/api/validate", {}), ("/api/fix", {}), ("/api/template", {}),
                ("/api/batches", {"provider": "preview", "confirm": True})]


@pytest.mark.parametrize("path, extra", SHEET_ROUTES, ids=[p for p, _ in SHEET_ROUTES])
def test_an_identity_token_alone_never_opens_a_sheet_as_the_service_account(
        app, google, acl_emulator, path, extra):
    sheet = person_sheet(google, acl_emulator, BOB, "Bob's")
    before = len(acl_emulator.log)
    alice = {"Authorization": f"Bearer {google.identity_token(ALICE)}"}
    response = app.test_client().post(path, headers=alice, json={
        "spreadsheet_id": sheet.spreadsheet.id, "sheet_id": sheet.id, **extra})
    assert response.status_code == 403, response.get_json()
    assert response.get_json()["error"] == "sheet_access"
    assert "reopen the Batch images sidebar" in response.get_json()["message"]
    assert acl_emulator.log[before:] == []  # Google was not even asked
    assert sheet.spreadsheet.worksheets()[0].get_all_values() == [
        [str(v) for v in row] for row in ROWS]
    assert len(sheet.spreadsheet.worksheets()) == 1


def test_alices_own_token_cannot_open_bobs_sheet(app, google, acl_emulator):
    sheet = person_sheet(google, acl_emulator, BOB, "Bob's")
    alice = {"Authorization": f"Bearer {google.identity_token(ALICE)}",
             "X-Google-Access-Token": google.access_token(ALICE)}
    response = app.test_client().post("/api/validate", headers=alice,
                                      json={"spreadsheet_id": sheet.spreadsheet.id})
    assert response.status_code == 403
    assert "not shared with the Google account you are signed in with" in \
        response.get_json()["message"]


def test_the_service_account_writes_status_back_for_a_batch_its_owner_started(
        app, google, acl_emulator):
    """Alice starts with her own token; once it is gone, the robot writes her statuses."""
    sheet = person_sheet(google, acl_emulator, ALICE, "Alice's")
    services = app.extensions["sheetbatch"]
    alice = {"Authorization": f"Bearer {google.identity_token(ALICE)}",
             "X-Google-Access-Token": google.access_token(ALICE)}
    response = app.test_client().post("/api/batches", headers=alice, json={
        "spreadsheet_id": sheet.spreadsheet.id, "sheet_id": sheet.id, "provider": "preview",
        "confirm": True})
    assert response.status_code == 201, response.get_json()
    batch_id = response.get_json()["batch"]["id"]
    services.redis.delete(keys.sheets_token(ALICE))  # her token expired
    after = len(acl_emulator.log)
    assert services.batches.claim(batch_id, 2, 1, "worker") == "ok"
    services.batches.settle(batch_id, 2, 1, "worker", "done",
                            {"name": "0002_1_x.png", "seed": 7, "prompt": "used"})

    def written():
        services.writeback.flush_due()
        return sheet.get_all_records()[0].get("status") == "done"
    wait_for(written, timeout=10, what="the service account's write-back")
    writers = {google.emails[entry["token"]] for entry in acl_emulator.log[after:]
               if entry["kind"] == "write"}
    assert writers == {ROBOT}
