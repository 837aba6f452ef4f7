"""Write-back with real parts (Redis, the Sheets emulator over HTTP, gspread): nothing is lost
when the person's token is gone, and rows land once a fresh token arrives."""
from __future__ import annotations

import gspread
import pytest
from google.oauth2.credentials import Credentials

from server.config import Settings
from server.gsheets.endpoint import point_session_at
from server.gsheets.tokens import store_token
from server.services import Services
from tests.conftest import wait_for

TOKEN, OWNER = "ya29.writeback-test", "alice@example.com"


@pytest.fixture
def services(redis_server, redis_conn, emulator, tmp_path):
    return Services(Settings(redis_url=redis_server.url, data_dir=tmp_path, secret_key="s",
                             flush_interval=0.2, google_api_url=emulator.url))


def make_sheet(emulator) -> gspread.Worksheet:
    client = gspread.authorize(Credentials(TOKEN))
    point_session_at(client.http_client.session, emulator.url)
    sheet = client.create("write-back").sheet1
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


def test_rows_wait_for_a_token_then_land(services, emulator):
    sheet = make_sheet(emulator)
    grid = services.sheets.grid(TOKEN, sheet.spreadsheet.id, sheet.id)
    batch_id = services.sheets.start(grid, services.sheets.validate(grid), OWNER, "preview",
                                     "http://sheetbatch.test/")
    assert status_column(sheet) == ["queued", "queued"]
    make_image(services, batch_id, 2)

    services.sheets.writeback.flush_due()  # no token stored, no service account: must wait
    assert status_column(sheet) == ["queued", "queued"]
    assert services.batches.redis.smembers(f"sb:b:{batch_id}:dirty") == {b"2"}

    store_token(services.batches.redis, OWNER, TOKEN, 600)
    wait_for(lambda: services.sheets.writeback.flush_due() or
             status_column(sheet) == ["done", "queued"], timeout=10, what="the write-back")
    values = sheet.get_all_records()
    assert values[0]["used_seed"] == 7 and values[0]["used_prompt"] == "used"
    assert values[0]["image_1"].startswith("http://sheetbatch.test/images/")
    assert values[1]["image_1"] == ""
