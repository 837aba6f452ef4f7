"""The gallery page in real Chromium: thumbnails of a finished batch, behind a signed link that
only the batch's owner can ask for."""
from __future__ import annotations

import httpx

from server.batches.store import Batches
from server.services import connect
from server.sheet.request import ImageRequest
from testkit.processes import wait_for

ALICE, BOB = "alice@example.com", "bob@example.com"


def headers(google, email: str) -> dict:
    return {"Authorization": f"Bearer {google.identity_token(email)}"}


def test_gallery_shows_thumbnails_to_its_owner_only(backend, backend_env, google, workers,
                                                    redis_server, browser, account):
    requests = {row: ImageRequest(prompt=f"a paper boat number {row}", visibility="private",
                                  num_images=2) for row in range(2, 5)}
    batches = Batches(connect(redis_server.url))
    batch_id = batches.create(requests, owner=ALICE, provider="preview", account=account("preview"),
                              title="Boats")
    workers.env = backend_env
    workers.start(1)
    wait_for(lambda: batches.status(batch_id).status == "completed", what="the batch")

    assert httpx.post(f"{backend}/api/batches/{batch_id}/gallery-link",
                      headers=headers(google, BOB)).status_code == 404
    link = httpx.post(f"{backend}/api/batches/{batch_id}/gallery-link",
                      headers=headers(google, ALICE)).json()["url"]
    assert httpx.get(link[:-4] + "AAAA").status_code == 403

    page = browser.new_page()
    try:
        page.goto(link)
        page.wait_for_function("[...document.images].length === 6 && "
                               "[...document.images].every(i => i.complete && i.naturalWidth > 0)")
        assert page.title().startswith("Boats")
        assert "placeholder pictures" in page.content()  # the preview provider says so
        assert "a paper boat number 3" in page.inner_text("main")
        sizes = page.eval_on_selector_all("img", "imgs => imgs.map(i => i.naturalWidth)")
        assert max(sizes) <= 256  # thumbnails, not the full images
        zip_href = page.get_attribute("header a", "href")
        assert httpx.get(backend + zip_href).headers["content-type"] == "application/zip"
    finally:
        page.close()
