"""The Google Sheets path end to end, all real parts: gspread over HTTP to the Sheets emulator,
the Flask app under gunicorn (`sheetbatch serve`), RQ worker processes, Redis, the image-API fake
and a local Google token issuer. Validate → fix → generate → rows inserted and sorted mid-batch →
stop → resume → done; a second user is refused everywhere."""
from __future__ import annotations

import io
import zipfile

import httpx
import pytest

from testkit.clients import gspread_client
from testkit.fakes.google_auth import FakeGoogleAuth
from testkit.processes import wait_for
from testkit.sheets_emulator.server import EmulatorServer

ALICE, BOB = "alice@example.com", "bob@example.com"
HEADER = ["prompt", "visibility", "aspect_ratio", "model", "num_images", "magic_prompt",
          "seed_number"]


class Person:
    """Someone at the sheet: their add-in's two tokens, and gspread with their access token."""

    def __init__(self, email: str, google: FakeGoogleAuth, backend: str, emulator: EmulatorServer):
        self.identity = google.identity_token(email)
        self.access = google.access_token(email)
        self.backend = backend
        self.gspread = gspread_client(emulator, self.access)

    def call(self, method: str, path: str, json: dict | None = None) -> httpx.Response:
        return httpx.request(method, f"{self.backend}{path}", json=json, timeout=60, headers={
            "Authorization": f"Bearer {self.identity}", "X-Google-Access-Token": self.access})


def sheet_rows(worksheet) -> list[dict]:
    values = worksheet.get_all_values()
    header = values[0]
    return [dict(zip(header, row)) for row in values[1:] if any(row)]


def test_sheet_batch_end_to_end(backend, backend_env, emulator, google, image_api, workers):
    image_api.configure(latency=0.4)
    workers.env = backend_env
    workers.start(2)
    alice = Person(ALICE, google, backend, emulator)
    bob = Person(BOB, google, backend, emulator)
    spreadsheet = alice.gspread.create("Stickers")
    sheet = spreadsheet.sheet1
    rows = [HEADER] + [[f"sticker of a fox number {n:02d}", "private", "", "3.0", 1, "off", n]
                       for n in range(1, 13)]
    rows[3][2] = "16:9"          # Sheets turns this into the time 16:09:00 (USER_ENTERED)
    rows[5][1] = "secret"        # not a visibility
    rows[7][0] = "=1+1 is text"  # user text must never become a formula
    sheet.update(rows, "A1", value_input_option="USER_ENTERED")
    sheet.update([["=1+1 is text"]], "A8", value_input_option="RAW")
    sheet_ref = {"spreadsheet_id": spreadsheet.id, "sheet_id": sheet.id}

    # -- validate: one read and one write, bad cell marked in place -----------------------------
    before = len(emulator.log)
    report = alice.call("POST", "/api/validate", sheet_ref).json()
    sheets_calls = emulator.log[before:]
    assert [entry["kind"] for entry in sheets_calls].count("read") == 1
    assert [entry["kind"] for entry in sheets_calls].count("write") == 1
    assert not report["valid"]
    assert [(e["cell"], e["column"]) for e in report["errors"]] == [("B6", "visibility")]
    assert [(w["cell"], w["value"]) for w in report["warnings"]] == [("C4", "16:09:00")]
    assert "public, private" in spreadsheet.sheet1.get_note("B6")

    # -- the person fixes the value; Fix rewrites the ratio; marks go ---------------------------
    sheet.update([["private"]], "B6")
    fixed = alice.call("POST", "/api/fix", sheet_ref).json()
    assert fixed["fixed"] == 1 and fixed["valid"] and fixed["warnings"] == []
    assert sheet.acell("C4").value == "16:9"
    assert sheet.get_note("B6") == "" and sheet.get_note("C4") == ""

    # -- estimate, then start ----------------------------------------------------------------------
    offer = alice.call("POST", "/api/batches", sheet_ref | {"provider": "ideogram"}).json()
    assert offer["estimate"]["images"] == 12 and offer["allowed"]
    assert offer["estimate"]["cost"] == pytest.approx(0.72)  # 12 images × 0.06 (model 3.0)
    assert offer["budget"]["available"] == pytest.approx(1.0)
    started = alice.call("POST", "/api/batches", sheet_ref | {"provider": "ideogram",
                                                             "confirm": True})
    assert started.status_code == 201, started.text
    batch_id = started.json()["batch"]["id"]

    # -- a second user is refused at every endpoint ----------------------------------------------
    for method, path in (("GET", f"/api/batches/{batch_id}"),
                         ("POST", f"/api/batches/{batch_id}/stop"),
                         ("POST", f"/api/batches/{batch_id}/resume"),
                         ("POST", f"/api/batches/{batch_id}/retry"),
                         ("POST", f"/api/batches/{batch_id}/zip-link")):
        assert bob.call(method, path).status_code == 404, path
    assert bob.call("GET", "/api/batches").json()["batches"] == []
    mine = alice.call("GET", f"/api/batches?spreadsheet_id={spreadsheet.id}").json()["batches"]
    assert [b["id"] for b in mine] == [batch_id]
    assert alice.call("GET", "/api/batches?spreadsheet_id=another").json()["batches"] == []
    assert httpx.get(f"{backend}/api/batches/{batch_id}").status_code == 401

    # -- the person edits the sheet mid-batch: a row inserted above, then a sort ------------------
    wait_for(lambda: alice.call("GET", f"/api/batches/{batch_id}").json()["counts"]["done"] >= 2,
             what="two rows done")
    sheet.insert_row(["a row added during the batch", "public"], index=2)
    sheet.sort((1, "des"), range=f"A2:Z{sheet.row_count}")
    emulator.inject(status=429, count=2, path_contains="batchUpdate")  # write-back must wait
    emulator.inject(status=503, count=1, path_contains="developerMetadata")

    # -- stop, then resume -------------------------------------------------------------------------
    stopped = alice.call("POST", f"/api/batches/{batch_id}/stop").json()
    assert stopped["status"] in ("stopping", "stopped")
    wait_for(lambda: alice.call("GET", f"/api/batches/{batch_id}").json()["status"] == "stopped",
             what="the batch to stop")
    resumed = alice.call("POST", f"/api/batches/{batch_id}/resume")
    assert resumed.status_code == 200
    final = wait_for(lambda: (s := alice.call("GET", f"/api/batches/{batch_id}").json())[
        "status"] == "completed" and s, timeout=90, what="the batch to complete")
    assert final["counts"]["done"] == 12

    # -- every status landed on its own row, whatever moved ----------------------------------------
    def written():
        data = sheet_rows(sheet)
        return all(r.get("status") == "done" for r in data if r["prompt"].startswith(
            ("sticker", "=1+1"))) and data
    # Polled once a second: the test reads with Alice's token, inside her 60-reads-a-minute quota.
    data = wait_for(written, timeout=30, interval=1.0, what="write-back of every row")
    for row in data:
        if row["prompt"] == "a row added during the batch":
            assert row.get("status", "") == ""
            continue
        assert row["used_prompt"] == row["prompt"]  # magic prompt off: the row's own prompt
        assert row["image_1"].startswith(f"{backend}/images/")
        assert httpx.get(row["image_1"]).headers["content-type"] == "image/png"
    assert sheet.acell("A2", value_render_option="FORMULA").value.startswith("sticker")
    formulas = sheet.get_all_values(value_render_option="FORMULA")
    preview_column = formulas[0].index("preview")
    without_preview = [r for r in formulas[1:]
                       if r[0].startswith("sticker")
                       and not r[preview_column].startswith('=IMAGE("')]
    assert without_preview == [], (formulas[0], without_preview)
    assert not any(r[0].startswith("=") and r[0] != "=1+1 is text" for r in formulas[1:])

    # -- the budget was charged for what was made; a second run does not fit any more --------------
    def settled_budget():
        budget = alice.call("POST", "/api/batches", sheet_ref | {"provider": "ideogram"}).json()
        return budget["budget"]["reserved"] == 0 and budget
    offer = wait_for(settled_budget, interval=1.0, what="the budget to settle")  # reads the sheet
    assert offer["budget"]["spent"] == pytest.approx(0.72) and not offer["allowed"]
    refused = alice.call("POST", "/api/batches", sheet_ref | {"provider": "ideogram",
                                                             "confirm": True})
    assert refused.status_code == 402 and refused.json()["error"] == "budget"
    free = alice.call("POST", "/api/batches", sheet_ref | {"provider": "preview"}).json()
    assert free["estimate"]["cost"] == 0 and free["allowed"]

    # -- the ZIP, through a signed link ------------------------------------------------------------
    link = alice.call("POST", f"/api/batches/{batch_id}/zip-link").json()["url"]
    download = httpx.get(link, timeout=60)
    with zipfile.ZipFile(io.BytesIO(download.content)) as archive:
        assert len([n for n in archive.namelist() if n.endswith(".png")]) == 12
    assert httpx.get(link[:-3] + "abc").status_code in (403, 404)

    # -- the injected Sheets errors were met, and backed off from without losing a row -------------
    statuses = [entry["status"] for entry in emulator.log]
    assert 429 in statuses and 503 in statuses

    # -- within Google's quota, with room to spare -------------------------------------------------
    assert emulator.peak_in_window(kind="write", seconds=60) <= 30
    assert image_api.stats()["duplicate_generations"] == []


def test_every_api_call_needs_a_token(backend, google):
    for method, path in (("GET", "/api/config"), ("POST", "/api/validate"),
                         ("POST", "/api/batches"), ("GET", "/api/batches"),
                         ("POST", "/api/fix"), ("POST", "/api/template")):
        response = httpx.request(method, f"{backend}{path}", json={})
        assert response.status_code == 401 and response.json()["error"] == "unauthenticated"
    forged = google.identity_token(ALICE, audience="someone-else")
    response = httpx.get(f"{backend}/api/config", headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401
    assert httpx.get(f"{backend}/api/health").status_code == 200
    spec = httpx.get(f"{backend}/api/openapi.json").json()
    assert spec["openapi"].startswith("3.") and "/api/validate" in spec["paths"]


def test_malformed_requests_get_clear_answers_not_server_errors(backend, google):
    headers = {"Authorization": f"Bearer {google.identity_token(ALICE)}"}

    def post(path, payload):
        return httpx.post(f"{backend}{path}", json=payload, headers=headers)

    for path, payload in (("/api/validate", {"spreadsheet_id": [None]}),
                          ("/api/validate", {"spreadsheet_id": "abc", "sheet_id": "first"}),
                          ("/api/batches", {"spreadsheet_id": "abc", "provider": 7}),
                          ("/api/batches", {"spreadsheet_id": "abc", "provider": "dalle"}),
                          ("/api/token", {"access_token": ["x"]}),
                          ("/api/template", "not an object")):
        answer = post(path, payload)
        assert answer.status_code == 400, (path, payload, answer.text)
        assert answer.json()["message"]
    # An identity token alone never opens a sheet (tests/security/test_service_account.py).
    no_sheet_token = post("/api/validate", {"spreadsheet_id": "abc"})
    assert no_sheet_token.status_code == 403
    assert "reopen the Batch images sidebar" in no_sheet_token.json()["message"]
