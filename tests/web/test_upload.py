"""The upload page in real Chromium against `sheetbatch serve`: a file with mistakes is
explained cell by cell, a good one is generated and followed in the gallery; oversized files
are refused before parsing, and an upload belongs to its person."""
from __future__ import annotations

import httpx
import pytest

from testkit import ROOT

ALICE, BOB = "alice@example.com", "bob@example.com"


@pytest.fixture
def small_uploads(backend_env):
    backend_env["SHEETBATCH_MAX_UPLOAD_BYTES"] = "20000"


def upload_link(backend: str, google, email: str) -> str:
    answer = httpx.post(f"{backend}/api/upload-link",
                        headers={"Authorization": f"Bearer {google.identity_token(email)}"})
    return answer.json()["url"]


def test_upload_check_generate_and_follow(small_uploads, backend, backend_env, google, workers,
                                          browser):
    workers.env = backend_env
    workers.start(1)
    page = browser.new_page()
    try:
        page.goto(upload_link(backend, google, ALICE))
        page.set_input_files("input[type=file]", str(ROOT / "examples" / "with-mistakes.xlsx"))
        page.click("#check")
        page.wait_for_selector("table")
        assert "secret" in page.inner_text("table") and "B4" in page.inner_text("table")
        assert page.is_disabled("#start")
        assert "with-mistakes.xlsx: 4 rows (1 ready), 11 images in all." in \
            page.inner_text(".summary")
        assert page.inner_text("form .problem") == ("7 problems to fix in 3 of 4 rows and 1 "
                                                    "header. Correct your file, then upload it "
                                                    "again.")

        page.set_input_files("input[type=file]", str(ROOT / "examples" / "stickers.csv"))
        page.select_option("select[name=provider]", "preview")
        page.click("#check")
        page.wait_for_selector(".summary")
        assert "5 rows, 8 images" in page.inner_text(".summary")
        page.click("#start")
        page.wait_for_url("**/gallery/**")
        page.wait_for_function("document.images.length === 8 && "
                               "[...document.images].every(i => i.complete && i.naturalWidth > 0)",
                               timeout=60_000)
    finally:
        page.close()


def test_uploads_are_limited_and_private(small_uploads, backend, google):
    alice, bob = upload_link(backend, google, ALICE), upload_link(backend, google, BOB)
    # Far over the limit: refused by the server before the body is parsed.
    huge = httpx.post(alice, files={"file": ("huge.csv", b"prompt,visibility\n" + b"x" * 200_000)})
    assert huge.status_code == 413 and "larger than 20 KB" in huge.text
    # Just over it: refused by the reader before the file is parsed.
    big = httpx.post(alice, files={"file": ("big.csv", b"prompt,visibility\n" + b"x" * 30_000)})
    assert big.status_code == 400 and "the limit is 20 KB" in big.text

    checked = httpx.post(alice, data={"provider": "preview"},
                         files={"file": ("s.csv",
                                         (ROOT / "examples" / "stickers.csv").read_bytes())})
    upload_id = checked.text.split('name="upload_id" value="')[1].split('"')[0]
    stolen = httpx.post(f"{bob}/start", data={"upload_id": upload_id, "provider": "preview"})
    assert stolen.status_code == 404 and "upload the file again" in stolen.text

    assert httpx.get(alice[:-4] + "AAAA").status_code == 403
    wrong_kind = httpx.post(alice, files={"file": ("notes.txt", b"hello")})
    assert wrong_kind.status_code == 400 and ".csv, .xls or .xlsx" in wrong_kind.text
