"""Issue 24 in real headless Chromium against `sheetbatch serve`: a person's mistakes get the
expected answer, and every page says where things stand. Screenshots of each new page state
land in docs/screenshots/. Each test starts from an empty Redis (`redis_conn`), so the batches
listed are its own."""
from __future__ import annotations

import pytest

from server.batches.queue import NO_WORKER
from testkit.processes import wait_for
from testkit.sheet_files import write_xlsx
from tests.web.conftest import pages_settings
from tests.web.test_pages_browser import (
    ADA,
    STICKERS,
    shoot,
    sign_in,
    upload,
    workbook,
    write_csv,
)


@pytest.fixture
def backend_settings(google):
    return pages_settings(google)


def test_friendly_headers_cannot_start_and_the_marked_copy_renames_them(redis_conn, new_page,
                                                                        google, tmp_path):
    """`Aspect Ratio` and `Num Images` used to be ignored: Start made 4 square images a row."""
    page = new_page()
    sign_in(page, google, ADA)
    rows = [["prompt", "visibility", "Aspect Ratio", "Num Images"],
            ["a fox", "public", "16:9", "1"]]
    upload(page, write_csv(tmp_path / "friendly.csv", rows))
    cells = page.locator("#problems tbody tr.error").evaluate_all(
        "rows => rows.map(r => r.dataset.cell)")
    assert cells == ["C1", "D1"]
    assert page.locator("#verdict").inner_text() == \
        "2 problems to fix in 2 headers. Correct your file, then upload it again."
    assert "rename it to aspect_ratio" in page.locator("#problems tr[data-cell='C1']").inner_text()
    assert page.locator("#start").count() == 0  # nothing can be paid for
    shoot(page, "friendly-headers")
    with page.expect_download() as marked:
        page.click("#marked")
    assert [cell.value for cell in workbook(marked.value).active[1]] == \
        ["prompt", "visibility", "aspect_ratio", "num_images"]
    renamed = tmp_path / "friendly-marked.xlsx"
    marked.value.save_as(renamed)
    upload(page, renamed)
    assert page.locator("#images").inner_text() == "1"
    assert page.locator("#first-row [data-setting='aspect_ratio']").inner_text() == "16:9"


def test_start_again_opens_the_batch_already_started_and_no_worker_is_named(redis_conn, new_page,
                                                                           google):
    """Start, then Start in a second tab still showing the file, then browser Back: one batch
    (the file is deleted once started; its page opens the batch), and it says why nothing moves
    (no worker)."""
    page = new_page()
    sign_in(page, google, ADA)
    upload(page, STICKERS)
    stale = page.context.new_page()  # a second tab on the same file, its Start ready
    stale.goto(page.url)
    stale.wait_for_selector("#start")
    page.click("#start")
    page.wait_for_selector(".batch")
    stale.click("#start")
    stale.wait_for_selector(".batch")
    assert "already started" in stale.locator(".notice.info").inner_text()
    page.go_back()
    page.wait_for_selector(".notice.info")
    assert "already started" in page.locator(".notice.info").inner_text()
    assert page.locator("#start").count() == 0
    assert page.locator(".batch").count() == 1
    waiting = page.locator(".batch [data-role='waiting']")
    waiting.wait_for()
    assert waiting.inner_text() == NO_WORKER
    facts = page.locator(".batch [data-role='facts']").inner_text()
    assert "Started" in facts and "5 rows" in facts and "8 images" in facts and "free" in facts
    shoot(page, "no-worker")


def test_the_completion_notice_reaches_every_page(redis_conn, new_page, google, backend_env,
                                                  workers):
    """From Creations, or a page opened after the end: the title, the banner, a notification.
    On Creations the notice also brings the new images, without a reload, keeping the person's
    filter and scroll."""
    page = new_page(notifications=True)
    sign_in(page, google, ADA)
    upload(page, STICKERS)
    page.click("#start")
    page.wait_for_selector(".batch")
    batch_id = page.locator(".batch").get_attribute("data-id")
    page.set_viewport_size({"width": 390, "height": 700})  # two cards a row: the page scrolls
    page.goto(f"/creations?batch={batch_id}")
    assert page.locator("#creations .placeholder").count() == 8
    assert page.locator("#creations img").count() == 0
    page.evaluate("window.scrollTo(0, 400); window.__sameLoad = true")
    assert page.evaluate("window.scrollY") == 400
    workers.env = backend_env
    workers.start(1)
    page.wait_for_function("window.__notes.length === 1", timeout=180000)
    assert page.locator("#live").inner_text() == "Batch stickers.csv is complete."
    assert page.title().startswith("✓ Batch stickers.csv is complete")
    page.wait_for_function("document.querySelectorAll('#creations img').length === 8 && "
                           "[...document.querySelectorAll('#creations img')]"
                           ".every(i => i.complete && i.naturalWidth > 0)")
    assert page.evaluate("window.__sameLoad") is True, "the page was reloaded"
    assert page.locator("#creations .placeholder").count() == 0
    assert page.url.endswith(f"/creations?batch={batch_id}")
    assert page.locator("#batch-filter").input_value() == batch_id
    assert page.evaluate("window.scrollY") >= 400  # where the person was (or the banner above)
    shoot(page, "notice-on-creations")


def test_a_page_opened_after_the_end_still_tells(redis_conn, new_page, google, backend_env,
                                                 workers):
    page = new_page()
    sign_in(page, google, ADA)
    upload(page, STICKERS)
    page.click("#start")
    page.wait_for_selector(".batch")
    page.wait_for_function("localStorage.length === 1")  # the page saw the batch unfinished
    page.goto("about:blank")  # nothing of ours open while the batch ends
    workers.env = backend_env
    workers.start(1)
    wait_for(lambda: page.request.get("/batches/states").json()["batches"][0]["finished"],
             timeout=180, interval=0.5, what="the batch to end")
    page.goto("/creations")
    page.wait_for_selector("#live:not(.hidden)")
    assert page.locator("#live").inner_text() == "Batch stickers.csv is complete."


def test_the_tab_with_prompts_is_read_and_another_can_be_chosen(redis_conn, new_page, google,
                                                                tmp_path):
    """Data on a second tab ("Instructions" first) gave "The required column prompt is
    missing", without saying which tab was read."""
    page = new_page()
    sign_in(page, google, ADA)
    path = write_xlsx(tmp_path / "workbook.xlsx", [["How to fill this in"]], title="Instructions",
                      extra_sheets={"Data": [["prompt", "visibility"], ["a fox", "public"]]})
    upload(page, path)
    assert page.locator("#details-heading").inner_text() == "workbook.xlsx, sheet “Data”"
    assert page.locator("#verdict").inner_text() == "Ready to generate."
    shoot(page, "sheet-choice")
    page.select_option("#sheet", "Instructions")
    page.click("#read-sheet")
    page.wait_for_selector("#details")
    assert page.locator("#details-heading").inner_text() == "workbook.xlsx, sheet “Instructions”"
    assert page.locator("#start").count() == 0
    page.select_option("#sheet", "Data")
    page.click("#read-sheet")
    page.click("#start")
    page.wait_for_selector(".batch")
    assert page.locator(".batch [data-fact='rows']").inner_text() == "1"


def test_replace_opens_the_picker_and_checks_the_new_file(redis_conn, new_page, google, tmp_path):
    """Replace went to /#file, dropped the details and opened no picker: two more clicks."""
    page = new_page()
    sign_in(page, google, ADA)
    upload(page, write_csv(tmp_path / "first.csv", [["prompt", "visibility"], ["a", "nope"]]))
    with page.expect_file_chooser() as chooser:
        page.click("#replace")
    with page.expect_navigation():
        chooser.value.set_files(str(write_csv(tmp_path / "second.csv",
                                              [["prompt", "visibility"], ["a", "public"]])))
    page.wait_for_selector("#details")
    assert page.locator("#details-heading").inner_text() == "second.csv"
    assert page.locator("#verdict").inner_text() == "Ready to generate."


def test_a_creation_shows_its_prompt_download_copy_and_neighbours(redis_conn, new_page, google,
                                                                  backend_env, workers, tmp_path):
    workers.env = backend_env
    workers.start(1)
    page = new_page()
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    sign_in(page, google, ADA)
    rows = [["prompt", "visibility", "num_images"],
            ["A sticker design of a cheerful Santa Claus waving", "public", "2"]]
    upload(page, write_csv(tmp_path / "santa.csv", rows))
    page.click("#start")
    page.wait_for_function("document.querySelector('.batch').dataset.status === 'completed'",
                           timeout=120000)
    page.goto("/creations")
    assert page.locator("#creations .creation [data-role='prompt']").first.inner_text() == \
        "A sticker design of a cheerful Santa Claus waving"
    page.locator("#creations .creation a").first.click()
    assert page.locator("#prompt").inner_text() == rows[1][0]
    assert page.locator("#position").inner_text() == "1 of 2"
    assert page.locator("#previous").count() == 0
    with page.expect_download() as download:
        page.click("#download")
    assert download.value.suggested_filename == "0002_1_a-sticker-design-of-a-cheerful-santa.png"
    page.click("#copy-link")
    page.wait_for_function("document.getElementById('copy-status').textContent !== ''")
    assert page.evaluate("navigator.clipboard.readText()") == \
        page.locator("#share-link").input_value()
    shoot(page, "creation-neighbours")
    page.click("#next")
    assert page.locator("#position").inner_text() == "2 of 2"
    assert page.locator("#next").count() == 0
    page.click("#previous")
    assert page.locator("#position").inner_text() == "1 of 2"
