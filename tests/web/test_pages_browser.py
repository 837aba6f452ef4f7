"""The brief's flow on the web pages, in real headless Chromium against `sheetbatch serve`
(gunicorn), real RQ workers, Redis, the preview provider, and the local stand-in for Google
Identity Services (testkit/fakes/google_auth.py). Screenshots of each page's states land in
docs/screenshots/ (the README shows them)."""
from __future__ import annotations

import csv
import io
import re
import time
import zipfile
from pathlib import Path

import httpx
import openpyxl
import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from server.files.results import RESULTS_NAME
from server.sheet.marks import ERROR_COLOUR
from server.storage.zipper import MANIFEST_NAME
from testkit import ROOT
from tests.web.conftest import pages_settings

STICKERS = ROOT / "examples" / "stickers.csv"
SHOTS = ROOT / "docs" / "screenshots"
ADA, BOB = "ada@example.com", "bob@example.com"


def week_old_zip_token(secret: str, batch_id: str, owner: str) -> str:
    """A ZIP link as the server signs them (same secret, same salt), but minted a week ago."""
    class WeekAgo(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - 7 * 86400

    serializer = URLSafeTimedSerializer(secret, signer=WeekAgo)
    return serializer.dumps({"b": batch_id, "u": owner}, salt="zip")


def sticker_rows() -> list[list[str]]:
    with STICKERS.open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    return path


def shoot(page, name: str, widths=(1280, 390)) -> None:
    """Full-page screenshots at a desktop and a phone width."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width in widths:
        page.set_viewport_size({"width": width, "height": 900})
        assert no_horizontal_scroll(page), f"{name} scrolls sideways at {width} px"
        page.screenshot(path=str(SHOTS / f"web-{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def workbook(download) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(Path(download.path()).read_bytes()))


def no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def unlabelled_controls(page) -> list[str]:
    return page.evaluate("""[...document.querySelectorAll('input:not([type=hidden]), select')]
        .filter(control => control.labels.length === 0).map(control => control.outerHTML)""")


def focus_order(page, presses: int = 30) -> list[str]:
    """What Tab reaches, from the top of the page: ids, or the text of links and buttons."""
    page.goto(page.url.split("#")[0])  # a fresh load: focus starts at the top
    reached = []
    for _ in range(presses):
        page.keyboard.press("Tab")
        reached.append(page.evaluate("(e => e.id || e.textContent.trim())(document.activeElement)"))
    return reached


@pytest.fixture
def backend_settings(request, google):
    """The pages' settings, and what a class asks for on top (`indirect` parametrisation)."""
    return pages_settings(google) | getattr(request, "param", {})


def sign_in(page, google, email: str) -> None:
    google.accounts = [ADA, BOB]
    page.goto("/")
    assert "/signin" in page.url
    page.click("#gsi-button")
    page.click(f"#gsi-chooser button[data-email='{email}']")
    page.wait_for_selector("#person")
    assert page.locator("#person").inner_text() == email


def upload(page, path: Path, provider: str = "preview") -> None:
    page.set_input_files("#file", str(path))
    page.select_option("#provider", provider)
    page.click("#upload")
    page.wait_for_selector("#details")


def batch_status(page) -> str:
    return page.locator(".batch").first.get_attribute("data-status")


def test_the_whole_flow_for_two_people(new_page, google, backend, backend_env, workers,
                                       tmp_path):
    page = new_page(notifications=True)
    page.goto("/")
    shoot(page, "signin")
    sign_in(page, google, ADA)
    # Only providers that can run are offered: ideogram has a key here, openai has none.
    assert page.locator("#provider option").evaluate_all("els => els.map(e => e.value)") == \
        ["ideogram", "preview"]
    assert page.locator("#no-batches").is_visible()
    with page.expect_download() as template:
        page.click("#full-xlsx")
    assert template.value.suggested_filename == "sheetbatch-full.xlsx"
    assert workbook(template.value).active["A1"].value == "prompt"
    shoot(page, "empty")

    # A sheet with mistakes: problems by cell, and a marked copy to download.
    rows = sticker_rows()
    rows[2][1] = "public"          # B3: this row's image will be public
    bad = [list(row) for row in rows]
    bad[3][1], bad[4][2] = "secret", "7:5"
    upload(page, write_csv(tmp_path / "stickers-mistakes.csv", bad))
    cells = page.locator("#problems tbody tr.error").evaluate_all(
        "rows => rows.map(r => r.dataset.cell)")
    assert cells == ["B4", "C5"]
    assert page.locator("#verdict").inner_text() == \
        "2 problems to fix in 2 of 5 rows. Correct your file, then upload it again."
    assert page.locator("#start").count() == 0
    shoot(page, "problems")
    with page.expect_download() as marked:
        page.click("#marked")
    assert marked.value.suggested_filename == "stickers-mistakes-marked.xlsx"
    sheet = workbook(marked.value).active
    assert sheet["B4"].fill.start_color.rgb.endswith(ERROR_COLOUR)
    assert "public, private" in sheet["B4"].comment.text
    assert sheet["A2"].comment is None

    # Fixed: the details, with every setting of the first row as it will be sent.
    upload(page, write_csv(tmp_path / "stickers.csv", rows))
    assert page.locator("#verdict").inner_text() == "Ready to generate."
    assert page.locator("#rows").inner_text() == "5"
    assert page.locator("#images").inner_text() == "8"
    assert page.locator("#required").inner_text() == "0.00 USD"
    assert page.locator("#available").inner_text() == "50.00 USD"
    assert page.locator("#first-row [data-setting='style']").inner_text() == "design"
    assert page.locator("#first-row [data-setting='seed_number']").inner_text() == "random"
    assert unlabelled_controls(page) == []
    order = focus_order(page)
    assert order[0] == "Skip to content"
    assert order.index("file") < order.index("provider") < order.index("upload") \
        < order.index("replace") < order.index("marked" if "marked" in order else "start")
    shoot(page, "details")

    # Start with no worker running: the batch waits, so Stop catches it.
    page.click("#start")
    page.wait_for_selector(".batch")
    assert batch_status(page) == "queued"
    page.click("[data-key^='stop-']")
    page.wait_for_selector(".batch[data-status='stopped']")
    assert page.locator(".batch [data-count='stopped'] b").inner_text() == "8"
    assert page.locator(".batch progress").get_attribute("value") == "0"
    shoot(page, "stopped")
    page.click("[data-key^='resume-']")
    page.wait_for_selector(".batch[data-status='queued']")
    assert page.locator("[data-key^='stop-']").is_visible()

    # Workers start; the open page follows the batch and announces its completion.
    workers.env = backend_env
    workers.start(2)
    page.wait_for_function("document.querySelector('.batch').dataset.status === 'completed'",
                           timeout=90000)
    counts = {name: int(page.locator(f".batch [data-count='{name}'] b").inner_text())
              for name in ("done", "failed", "stopped", "pending")}
    assert counts == {"done": 8, "failed": 0, "stopped": 0, "pending": 0}
    assert page.locator(".batch [data-count='total']").inner_text() == "8"
    assert page.locator(".batch progress").get_attribute("value") == "8"
    page.wait_for_function("window.__notes.length === 1")
    assert "complete" in page.evaluate("window.__notes[0].body")
    assert page.title().startswith("✓ Batch stickers.csv is complete")
    assert page.locator("#live").inner_text() == "Batch stickers.csv is complete."
    shoot(page, "completed")

    with page.expect_download() as download:
        page.click("[data-key^='zip-']")
    with zipfile.ZipFile(download.value.path()) as archive:
        names = archive.namelist()
        results = openpyxl.load_workbook(io.BytesIO(archive.read(RESULTS_NAME))).active
    assert len([n for n in names if n.endswith(".png")]) == 8
    assert MANIFEST_NAME in names
    header = [cell.value for cell in results[1]]
    assert header[:2] == ["prompt", "visibility"] and "status" in header
    assert [row[header.index("status")] for row in results.iter_rows(min_row=2, values_only=True)] \
        == ["done"] * 5
    # Named after the file; each image cell links to the image beside it in the ZIP.
    assert download.value.suggested_filename == "stickers-images.zip"
    first_image = results.cell(row=2, column=header.index("image_1") + 1)
    assert first_image.hyperlink.target == first_image.value and first_image.value in names

    # Creations: every image, filters, and one image with its prompt, settings, seed and batch.
    page.click("nav >> text=Creations")
    assert page.locator("#creations .creation").count() == 8
    page.select_option("#status-filter", "failed")
    page.click("#filter")
    assert page.locator("#creations .creation").count() == 0
    page.select_option("#status-filter", "done")
    page.click("#filter")
    assert page.locator("#creations .creation").count() == 8
    page.wait_for_function("[...document.querySelectorAll('#creations img')]"
                           ".every(img => img.complete && img.naturalWidth > 0)")
    assert unlabelled_controls(page) == []
    shoot(page, "creations")
    public = page.locator("#creations .creation[data-visibility='public']")
    assert public.count() == 1
    public.locator("a").click()
    assert page.locator("[data-setting='aspect_ratio']").inner_text() == "4:5"
    assert page.locator("#batch-title").inner_text() == "stickers.csv"
    assert page.locator("#seed").inner_text().isdigit()
    public_url = page.locator("#share-link").input_value()
    shoot(page, "creation")
    page.goto("/creations")
    page.locator("#creations .creation[data-visibility='private'] a").first.click()
    private_share = page.locator("#share-link").input_value()
    private_image = page.locator("#full").get_attribute("href")
    assert "/images/p." in private_share
    page.goto("/creations")
    gallery_url = page.locator("#public-gallery").get_attribute("href")
    batch_id = private_image.split("/")[2]

    # Signed out: the public image and gallery open, the private image does not (unless the
    # link is the signed, expiring one).
    visitor = new_page()
    answer = visitor.goto(public_url)
    assert answer.status == 200 and answer.headers["content-type"] == "image/png"
    assert "public" in answer.headers["cache-control"]
    assert visitor.goto(public_url + "/thumb").status == 200
    visitor.goto(gallery_url)
    assert visitor.locator("#creations .creation").count() == 1
    shoot(visitor, "public-gallery")
    answer = visitor.goto(private_image)
    assert answer.status == 404
    assert "private" in visitor.locator("#message-text").inner_text()
    assert visitor.goto(private_image + "/thumb").status == 404
    shoot(visitor, "private-refused")
    assert visitor.goto(private_share).status == 200
    assert visitor.goto(backend + "/download/not-a-real-link").status == 403
    assert visitor.locator("h1").inner_text() == "This download link does not work"
    shoot(visitor, "bad-link")
    expired = week_old_zip_token(backend_env["SHEETBATCH_SECRET_KEY"], batch_id, ADA)
    assert visitor.goto(f"/download/{expired}").status == 403
    assert "expired" in visitor.locator("#message-text").inner_text()
    shoot(visitor, "expired-link")

    # A second person sees none of the first one's batches, creations or private images.
    bob = new_page()
    sign_in(bob, google, BOB)
    assert bob.locator("#no-batches").is_visible()
    bob.goto("/creations")
    assert bob.locator("#creations .creation").count() == 0
    assert bob.goto(private_image).status == 404
    assert bob.goto(f"/batches/{batch_id}/zip").status == 404
    assert bob.goto(f"/creations/{batch_id}/2/1").status == 404
    bob.goto("/")
    token = bob.locator("input[name='csrf_token']").first.input_value()
    assert bob.request.post(f"{backend}/batches/{batch_id}/delete",
                            form={"csrf_token": token}).status == 404
    # Without the page's CSRF token nothing is changed, even by the owner.
    assert page.request.post(f"{backend}/batches/{batch_id}/stop").status == 400

    # The owner deletes the batch: records, images and thumbnails go.
    page.goto("/")
    page.click("[data-key^='delete-']")
    page.wait_for_selector("#no-batches")
    assert httpx.get(public_url).status_code == 404
    assert not (Path(backend_env["SHEETBATCH_DATA"]) / "images" / batch_id).exists()


def test_session_cookie_and_sign_in_checks(new_page, google, backend):
    page = new_page()
    sign_in(page, google, ADA)
    cookie = next(c for c in page.context.cookies() if c["name"] == "sheetbatch")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    assert not cookie["secure"]  # plain HTTP on localhost; Secure whenever the request is HTTPS
    page.click("#signout")
    page.wait_for_selector("#gsi-button")
    assert page.goto("/creations").url.endswith("/signin?next=/creations")

    # Google's double-submit check and the token itself are verified.
    credential = google.gsi_credential(ADA, google.audience)
    login = f"{backend}/signin/google"
    with httpx.Client() as client:
        refused = client.post(login, data={"credential": credential, "g_csrf_token": "a"})
        assert refused.status_code == 400 and "check" in refused.text
        client.cookies.set("g_csrf_token", "a")
        other = google.gsi_credential(ADA, "another-client")
        refused = client.post(login, data={"credential": other, "g_csrf_token": "a"})
        assert refused.status_code == 400 and "refused" in refused.text
        signed = client.post(login, data={"credential": credential, "g_csrf_token": "a"})
        assert signed.status_code == 303
        assert re.search(r'id="person">ada@example.com<', client.get(backend + "/").text)


@pytest.mark.usefixtures("backend_settings")  # backend_env asks for it by name
@pytest.mark.parametrize("backend_settings", [{"GOOGLE_CLIENT_ID": None}], indirect=True,
                         ids=["no sign-in"])
class TestSingleUser:
    """A fresh install on this computer: no sign-in, the brief's sticker sheet, its ZIP."""

    def test_fresh_install_runs_the_sticker_sheet(self, new_page, backend, backend_env, workers):
        workers.env = backend_env
        workers.start(1)
        page = new_page()
        page.goto("/")
        assert page.locator("#person").inner_text() == "you@localhost"
        assert page.locator("#signout").count() == 0
        upload(page, STICKERS)
        page.click("#start")
        page.wait_for_function(
            "document.querySelector('.batch').dataset.status === 'completed'", timeout=90000)
        with page.expect_download() as download:
            page.click("[data-key^='zip-']")
        with zipfile.ZipFile(download.value.path()) as archive:
            assert len([n for n in archive.namelist() if n.endswith(".png")]) == 8
        # Proxied requests are not "this computer": single-user mode never serves them.
        forwarded = httpx.get(f"{backend}/", headers={"X-Forwarded-For": "203.0.113.9"})
        assert forwarded.status_code == 403 and "single-user" in forwarded.text


def test_retry_failed_from_the_page(new_page, google, backend_env, workers, image_api, tmp_path):
    """A row the provider refuses fails with its reason; once it would pass, Retry failed
    makes only that row (the ideogram provider, against the image-API fake)."""
    page = new_page()
    sign_in(page, google, ADA)
    rows = [["prompt", "visibility", "num_images"],
            ["a quiet harbour at dawn", "public", "1"],
            ["an UNSAFE harbour", "private", "1"]]
    upload(page, write_csv(tmp_path / "harbour.csv", rows), provider="ideogram")
    assert float(page.locator("#required").inner_text().split()[0]) > 0
    page.click("#start")
    workers.env = backend_env
    workers.start(1)
    page.wait_for_function("document.querySelector('.batch').dataset.status === "
                           "'completed_with_errors'", timeout=90000)
    assert page.locator(".batch [data-count='failed'] b").inner_text() == "1"
    failed = page.locator(".batch [data-role='failed-rows'] li")
    assert failed.count() == 1 and failed.get_attribute("data-row") == "3"
    assert failed.inner_text().startswith("Row 3: ") and len(failed.inner_text()) > 10
    assert "$" in page.locator(".batch [data-fact='cost']").inner_text()
    assert page.locator("[data-key^='retry-']").is_visible()
    shoot(page, "failed-rows")
    page.goto("/creations?status=failed")
    page.locator("#creations .creation a").click()
    assert page.locator(".notice.problem").inner_text()  # the provider's reason, in words
    generated = image_api.stats()["generated"]

    image_api.configure(unsafe_word="NOTHING-IS-UNSAFE-NOW")
    page.goto("/")
    page.click("[data-key^='retry-']")
    page.wait_for_function("document.querySelector('.batch').dataset.status === 'completed'",
                           timeout=90000)
    assert image_api.stats()["generated"] == generated + 1
