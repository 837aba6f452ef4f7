"""The batch page's "Write prompts" form through Flask's test client on a real Redis and the
chat fake over HTTP: the written sheet goes through the upload flow and can be downloaded."""
from __future__ import annotations

import csv
import io
import re

import pytest

from tests.web.test_pages import LOCAL, csrf_token

FORM = {"goal": "Christmas sticker designs for kids.", "rows": "7",
        "examples": "A sticker design of a sleepy owl.\n\nA fox curled up asleep.",
        "aspect_ratio": "1:1", "model": "3.0", "style": "design", "visibility": "private",
        "format": "csv", "provider": "preview"}


@pytest.fixture
def app_settings(chat_api) -> dict:
    """One person at this computer (no sign-in), with a chat model to write the prompts."""
    return {"google_client_ids": (), "openai_api_key": chat_api.api_key,
            "openai_base_url": chat_api.url}


def write(client, **changes):
    form = FORM | {"csrf_token": csrf_token(client)} | changes
    return client.post("/prompts", data=form, environ_base=LOCAL)


def test_the_written_sheet_is_reviewed_like_an_upload_and_downloadable(client, chat_api):
    page = client.get("/", environ_base=LOCAL).get_data(as_text=True)
    assert 'id="write-form"' in page and "gpt-5-mini writes the rows" in page
    answer = write(client)
    assert answer.status_code == 303 and "written=1" in answer.location
    details = client.get(answer.location, environ_base=LOCAL).get_data(as_text=True)
    assert "Ready to generate." in details
    assert re.search(r'id="rows">7<', details)
    assert "gpt-5-mini wrote 7 rows: 1 request(s)" in details and "output tokens, $0.0" in details
    [sent] = chat_api.requests()
    assert "sleepy owl" in sent["messages"][1]["content"]
    link = re.search(r'href="([^"]+/written)" id="written-download"', details).group(1)
    sheet = list(csv.reader(io.StringIO(client.get(link, environ_base=LOCAL)
                                        .get_data(as_text=True))))
    assert len(sheet) == 8 and {row[sheet[0].index("model")] for row in sheet[1:]} == {"3.0"}


def test_problems_are_shown_on_the_form(client, chat_api):
    answer = write(client, rows="0")
    assert answer.status_code == 400
    assert re.search(r'id="write-problem">--rows must be between 1', answer.get_data(as_text=True))
    chat_api.configure(refuse=True)
    refused = write(client).get_data(as_text=True)
    assert "The model refused" in re.search(r'id="write-problem">([^<]+)', refused).group(1)


def test_without_a_key_the_form_says_what_to_set(app_for):
    client = app_for().test_client()
    page = client.get("/", environ_base=LOCAL).get_data(as_text=True)
    missing = re.search(r'id="write-missing">([^<]+)', page).group(1)
    assert "OPENAI_API_KEY" in missing
    assert re.search(r'<button type="submit" id="write" disabled', page)
    assert write(client).status_code == 400
