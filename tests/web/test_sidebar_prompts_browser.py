"""The sidebar's "Write prompts" step in real headless Chromium against `sheetbatch serve`, the
Sheets emulator and the chat fake: rows land below the last filled row in calls of
`rows_per_call`, nothing filled changes, and the report shows the sheet validated in place.
The screenshot is docs/sidebar-write-prompts.png."""
from __future__ import annotations

import pytest

from testkit.clients import gspread_client
from tests.web.test_sidebar_browser import base_url, open_sidebar, proxy_to, state_shot

__all__ = ["base_url", "open_sidebar"]  # the fixtures, shared with the sidebar's other tests


@pytest.fixture
def backend_settings(chat_api):
    return {"OPENAI_API_KEY": chat_api.api_key, "OPENAI_BASE_URL": chat_api.url}


@pytest.fixture
def backend_app(backend):
    return proxy_to(backend)


def test_write_prompts_appends_below_the_last_filled_row(open_sidebar, emulator, google,
                                                         chat_api):
    email = "writer@example.com"
    access = google.access_token(email)
    client = gspread_client(emulator, access)
    sheet = client.create("Sticker ideas").sheet1
    filled = [["prompt", "visibility", "aspect_ratio", "model", "style"],
              ["a sticker of a fox", "private", "1:1", "3.0", "design"],
              ["", "", "", "", ""],
              ["a sticker of an owl", "public", "1:1", "3.0", "design"]]
    sheet.update(filled, "A1", value_input_option="RAW")
    page = open_sidebar(sheet_id=sheet.id, spreadsheet_id=sheet.spreadsheet.id,
                        id_token=google.identity_token(email), access_token=access)
    page.click("#write-prompts summary")
    page.wait_for_function("document.getElementById('write').disabled === false")
    about = page.locator("#write-about").inner_text()
    assert "gpt-5-mini writes the rows, 10 a call (about" in about and "tokens, about $0.0" in about
    page.fill("#write-goal", "Christmas sticker designs for kids: diverse and cheerful.")
    page.fill("#write-examples", "A sticker design of a sleepy owl perched on a book.")
    page.fill("#write-rows", "12")
    for name, value in (("aspect_ratio", "1:1"), ("model", "3.0"), ("style", "design")):
        page.select_option(f"#write-{name}", value)
    page.click("#write")
    page.wait_for_selector("#message:has-text('Wrote 12 rows')", timeout=60000)
    assert "down to row 16" in page.locator("#message").inner_text()
    assert page.locator("#verdict").inner_text() == "Ready"
    assert page.locator("#stat-rows").inner_text() == "14"
    state_shot(page, "write-prompts")

    values = sheet.get_all_values()
    assert values[:4] == filled
    assert len(values) == 16 and all("Christmas sticker" in row[0] for row in values[4:])
    assert {tuple(row[1:]) for row in values[4:]} == {("private", "1:1", "3.0", "design")}
    sent = chat_api.requests()
    assert [r["response_format"]["json_schema"]["schema"]["properties"]["rows"]["minItems"]
            for r in sent] == [10, 2]
