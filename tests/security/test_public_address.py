"""Links we hand out are built from the configured public address, never from the Host header a
request happened to carry (a forged Host would otherwise put someone else's address in a link a
person copies and shares)."""
from __future__ import annotations

import re

import pytest

from server.sheet.request import ImageRequest
from server.web.signin import LOCAL_PERSON

PUBLIC = "https://sheetbatch.example"
FORGED = {"REMOTE_ADDR": "127.0.0.1", "HTTP_HOST": "evil.example"}


@pytest.fixture
def app_settings() -> dict:
    return {"google_client_ids": (), "public_url": PUBLIC}  # one person at this computer


@pytest.mark.parametrize("visibility, shape", [("private", f"{PUBLIC}/images/p."),
                                               ("public", f"{PUBLIC}/i/")])
def test_a_creation_page_shares_a_link_on_the_public_address(app, services, visibility, shape):
    batches = services.batches
    batch_id = batches.create({2: ImageRequest(prompt="a kite", visibility=visibility,
                                               num_images=1)},
                              owner=LOCAL_PERSON, provider="preview", account="preview-account")
    assert batches.claim(batch_id, 2, 1, "w") == "ok"
    assert batches.settle(batch_id, 2, 1, "w", "done", {"name": "0002-1-a-kite.png"})
    page = app.test_client().get(f"/creations/{batch_id}/2/1", environ_base=FORGED)
    assert page.status_code == 200
    share = re.search(r'id="share-link"[^>]*value="([^"]+)"', page.get_data(as_text=True))
    assert share and share.group(1).startswith(shape), share
    assert "evil.example" not in page.get_data(as_text=True)
