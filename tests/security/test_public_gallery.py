"""The public gallery costs the same whatever its owner's history (issue 23): it reads an index
of the person's public images kept as images are made and batches deleted, a page at a time.
Through the Flask app on the embedded Redis; images settled as a worker settles them."""
from __future__ import annotations

import re

import pytest

from server.batches.lifecycle import delete_batch
from server.sheet.request import ImageRequest
from server.web.signin import remember_handle

ALICE = "alice@example.com"


def made_batch(batches, rows: dict[int, str]) -> str:
    """A batch whose rows (row → visibility) each made one image."""
    batch_id = batches.create({row: ImageRequest(prompt=f"a fox {row}", visibility=visibility,
                                                 num_images=1)
                               for row, visibility in rows.items()},
                              owner=ALICE, provider="preview", account="preview-account")
    for row in rows:
        assert batches.claim(batch_id, row, 1, "worker") == "ok"
        assert batches.settle(batch_id, row, 1, "worker", "done",
                              {"name": f"{row:04d}-1.png", "seed": 1, "prompt": f"a fox {row}"})
    return batch_id


@pytest.fixture
def gallery(app):
    services = app.extensions["sheetbatch"]
    with app.test_request_context():
        handle = remember_handle(ALICE)
    return services.batches, f"/u/{handle}"


def shown(client, page: str) -> list[tuple[str, str]]:
    text = client.get(page).get_data(as_text=True)
    return re.findall(r'data-batch="([^"]+)" data-row="(\d+)"', text)


def test_the_gallery_shows_public_images_newest_batch_first_in_sheet_order(app, client, gallery):
    batches, page = gallery
    older = made_batch(batches, {2: "public", 3: "private", 4: "public"})
    newer = made_batch(batches, {2: "public"})
    assert shown(client, page) == [(newer, "2"), (older, "2"), (older, "4")]
    delete_batch(batches, app.extensions["sheetbatch"].launcher,
                 app.extensions["sheetbatch"].settings, older)
    assert shown(client, page) == [(newer, "2")]


def commands(redis_conn) -> int:
    return int(redis_conn.info("stats")["total_commands_processed"])


def test_a_gallery_page_costs_the_same_whatever_the_owners_history(client, gallery, redis_conn):
    batches, page = gallery
    made_batch(batches, {row: "public" for row in range(2, 30)})
    client.get(page)  # the first visit indexes what came before the index (nothing here)
    before = commands(redis_conn)
    assert len(shown(client, page)) == 24
    one_history = commands(redis_conn) - before
    for _ in range(30):
        made_batch(batches, {2: "public", 3: "private"})
    before = commands(redis_conn)
    assert len(shown(client, page)) == 24
    assert commands(redis_conn) - before == one_history


@pytest.mark.parametrize("query", ["?handle=x", "?_method=POST", "?endpoint=x",
                                   "?page=2&handle=x&endpoint=y&_external=1"])
def test_paged_pages_take_any_query(client, gallery, query):
    batches, page = gallery
    made_batch(batches, {row: "public" for row in range(2, 30)})
    answer = client.get(page + query)
    assert answer.status_code == 200
