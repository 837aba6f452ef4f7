"""The "Write prompts" form in real headless Chromium against `sheetbatch serve` and the chat
fake: the written sheet is reviewed like an upload, downloaded, and ready to Start. Screenshots
land in docs/screenshots/."""
from __future__ import annotations

import csv

import pytest

from tests.web.conftest import pages_settings
from tests.web.test_pages_browser import (
    ADA,
    SHOTS,
    shoot,
    sign_in,
    unlabelled_controls,
)


@pytest.fixture
def backend_settings(google, chat_api):
    return pages_settings(google) | {"OPENAI_API_KEY": chat_api.api_key,
                                     "OPENAI_BASE_URL": chat_api.url}


def test_write_prompts_review_download_and_start(new_page, google, chat_api):
    page = new_page()
    sign_in(page, google, ADA)
    page.fill("#goal", "Sticker designs for the Christmas holidays: diverse, creative, engaging.")
    page.fill("#examples", "A sticker design of a sleepy owl perched on a book.\n"
                           "A sticker design of a fox curled up asleep.")
    page.fill("#rows-wanted", "20")
    for name, value in (("aspect_ratio", "1:1"), ("model", "3.0"), ("style", "design")):
        page.select_option(f"#write-{name}", value)
    assert unlabelled_controls(page) == []
    page.locator("#write-section").scroll_into_view_if_needed()
    page.locator("#write-section").screenshot(path=str(SHOTS / "web-write-prompts-1280.png"))
    page.click("#write")
    page.wait_for_selector("#details")
    assert page.locator("#verdict").inner_text() == "Ready to generate."
    assert page.locator("#rows").inner_text() == "20"
    assert page.locator("#first-row [data-setting='style']").inner_text() == "design"
    assert "Christmas" in page.locator("#first-row [data-setting='prompt']").inner_text()
    assert "wrote 20 rows: 1 request(s)" in page.locator("main").inner_text()
    assert page.locator("#start").is_enabled()
    shoot(page, "written-details", widths=(1280,))
    with page.expect_download() as download:
        page.click("#written-download")
    with open(download.value.path(), newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert len(rows) == 21 and rows[0][0] == "prompt"
    assert len(chat_api.requests()) == 1
