"""The web pages through Flask's test client on a real Redis (single-user mode, as a fresh
install on this computer runs): limits before parsing, CSRF, friendly errors, templates."""
from __future__ import annotations

import csv
import io
import re

import openpyxl
import pytest

from server.sheet.template import SIMPLE_COLUMNS, template_rows

LOCAL = {"REMOTE_ADDR": "127.0.0.1"}


@pytest.fixture
def app_settings() -> dict:
    """One person at this computer (no sign-in), and an upload limit small enough to reach."""
    return {"google_client_ids": (), "max_upload_bytes": 1000}


def csrf_token(client) -> str:
    page = client.get("/", environ_base=LOCAL).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def upload(client, name: str, data: bytes, token: str | None = None):
    form = {"provider": "preview", "file": (io.BytesIO(data), name)}
    if token:
        form["csrf_token"] = token
    return client.post("/upload", data=form, content_type="multipart/form-data",
                       environ_base=LOCAL)


def problem(response) -> str:
    return re.search(r'id="problem">([^<]+)', response.get_data(as_text=True)).group(1)


def test_a_file_over_the_limit_is_refused_before_it_is_read(client):
    token = csrf_token(client)
    response = upload(client, "big.csv", b"prompt,visibility\n" * 500, token)
    assert response.status_code == 400
    assert problem(response).startswith("big.csv is 9 KB; the limit is 1 KB.")
    # Far over the limit, the request itself is refused before the form is read.
    response = upload(client, "huge.csv", b"prompt,visibility\n" * 5000, token)
    assert response.status_code == 413
    assert problem(response).startswith("That file is larger than 1 KB;")


def test_only_spreadsheets_are_taken(client):
    response = upload(client, "notes.txt", b"prompt\n", csrf_token(client))
    assert response.status_code == 400
    assert problem(response) == "notes.txt: upload a .csv, .xls or .xlsx file."


def test_a_form_without_its_csrf_token_changes_nothing(client):
    response = upload(client, "a.csv", b"prompt,visibility\na fox,public\n")
    assert response.status_code == 400
    assert "This form has expired" in response.get_data(as_text=True)


def test_errors_are_pages_and_api_errors_stay_json(client):
    page = client.get("/no-such-page", environ_base=LOCAL)
    assert page.status_code == 404 and "Nothing here" in page.get_data(as_text=True)
    api = client.get("/api/no-such-endpoint", environ_base=LOCAL)
    assert api.status_code == 404 and api.get_json()["error"] == "not_found"


@pytest.mark.parametrize("kind, columns", [("simple", SIMPLE_COLUMNS),
                                           ("full", template_rows(full=True)[0])])
def test_templates_download_as_csv_and_excel(client, kind, columns):
    as_csv = client.get(f"/templates/sheetbatch-{kind}.csv")
    assert as_csv.status_code == 200
    assert next(csv.reader(io.StringIO(as_csv.get_data(as_text=True)))) == list(columns)
    as_xlsx = client.get(f"/templates/sheetbatch-{kind}.xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(as_xlsx.data)).active
    assert [cell.value for cell in sheet[1]] == list(columns)
    assert client.get(f"/templates/sheetbatch-{kind}.ods").status_code == 404


def test_a_paused_batch_says_why_in_one_line(client, redis_conn):
    """A batch that paused on its own (the provider account cannot pay, storage full) shows the
    batch's own one-line reason under its status: the same line the CLI and the sidebar show."""
    from server.batches.store import Batches
    from server.sheet.request import ImageRequest
    from server.web.signin import LOCAL_PERSON

    batches = Batches(redis_conn)
    batch_id = batches.create({2: ImageRequest(prompt="a kite", visibility="private")},
                              owner=LOCAL_PERSON, provider="preview", account="a", title="Kites")
    reason = ("The Ideogram account reached its daily limit (daily_limit); it lifts the next "
              "day. The batch is paused and nothing more is paid.")
    batches.pause(batch_id, reason)
    page = client.get("/", environ_base=LOCAL).get_data(as_text=True)
    assert f'data-role="paused">{reason}</p>' in page
    batches.resume(batch_id)
    assert 'data-role="paused"' not in client.get("/", environ_base=LOCAL).get_data(as_text=True)
