"""Issue 10's "low" findings, each through the Flask app on the embedded Redis with tokens from
the local fake Google issuer: batch resources, identities, errors in JSON, the bad-token cache,
secrets kept out of what we store and of every log line."""
from __future__ import annotations

import logging

import pytest

from server.batches.record import BatchKeys
from server.config import Settings
from server.generation.maker import ImageMaker
from server.generation.providers import account_id
from server.sheet.request import ImageRequest

ALICE = "alice@example.com"


@pytest.fixture
def alice(google) -> dict:
    return {"Authorization": f"Bearer {google.identity_token(ALICE)}"}


def test_every_part_of_a_batch_is_404_not_a_redis_error(app, client, alice, redis_conn):
    batches = app.extensions["sheetbatch"].batches
    batch_id = batches.create({2: ImageRequest(prompt="a fox", visibility="public", num_images=1)},
                              owner=ALICE, provider="preview", account="preview-account")
    redis_conn.sadd(BatchKeys(batch_id).part("dirty"), 2)
    parts = BatchKeys(batch_id)
    assert {part for part in parts.PARTS if redis_conn.exists(parts.part(part))} >= {
        "req", "state", "jobs", "dirty"}
    for part in BatchKeys.PARTS:
        for method, path in (("GET", f"/api/batches/{batch_id}:{part}"),
                             ("POST", f"/api/batches/{batch_id}:{part}/stop"),
                             ("POST", f"/api/batches/{batch_id}:{part}/zip-link")):
            response = client.open(path, method=method, headers=alice)
            assert response.status_code == 404, (path, response.get_data(as_text=True))
            assert response.get_json()["error"] == "not_found"


@pytest.mark.parametrize("method, path", [("GET", "/api/nothing-here"), ("DELETE", "/api/health"),
                                          ("PUT", "/api/batches"), ("GET", "/api/validate")])
def test_unknown_api_paths_and_methods_answer_in_json(client, method, path):
    response = client.open(path, method=method)
    assert response.status_code in (404, 405)
    assert response.is_json and response.get_json()["message"]


@pytest.mark.parametrize("email", ["jöhn@exämple.com", "名前@例え.jp"])
def test_a_non_ascii_email_signs_in(client, google, email):
    signed_in = {"Authorization": f"Bearer {google.identity_token(email)}"}
    assert client.get("/api/batches", headers=signed_in).status_code == 200
    assert client.post("/api/upload-link", headers=signed_in).status_code == 200


@pytest.mark.parametrize("email", ["a\nb@example.com", "two words@example.com", "no-at-sign",
                                   "x" * 300 + "@example.com"])
def test_an_email_claim_that_is_no_address_is_refused(client, google, email):
    signed_in = {"Authorization": f"Bearer {google.identity_token(email)}"}
    response = client.get("/api/batches", headers=signed_in)
    assert response.status_code == 401 and response.get_json()["error"] == "unauthenticated"


def test_a_refused_token_is_asked_about_once(client, google):
    bad = {"Authorization": "Bearer ya29.never-issued-by-anyone"}
    before = google.tokeninfo_calls
    for _ in range(5):
        assert client.get("/api/batches", headers=bad).status_code == 401
    assert google.tokeninfo_calls == before + 1


def test_the_provider_key_never_reaches_what_we_store(batches, image_api, tmp_path):
    """An answer echoing the key in another case, and a link on a host named after it."""
    settings = Settings(data_dir=tmp_path, ideogram_api_key=image_api.api_key,
                        ideogram_base_url=image_api.url,
                        ideogram_image_hosts=(image_api.image_host,))
    maker = ImageMaker(batches, settings)
    account = account_id("ideogram", settings)
    echoed = ImageRequest(prompt=f"a sign saying {image_api.api_key.upper()}", visibility="public",
                          num_images=1, magic_prompt="off", model="3.0")
    batch_id = batches.create({2: echoed}, owner=ALICE, provider="ideogram", account=account)
    assert maker.make(batch_id, 2, 1) == "done"
    image_api.configure(image_base_url=f"http://{image_api.api_key}.invalid")
    failed = batches.create({2: echoed}, owner=ALICE, provider="ideogram", account=account)
    assert maker.make(failed, 2, 1) == "failed"
    done, refused = batches.status(batch_id).rows[2], batches.status(failed).rows[2]
    said = [done.images[0]["prompt"], refused.error]  # what the provider's answers gave us
    assert said[0] == "a sign saying [redacted]" and "[redacted].invalid" in said[1]
    assert image_api.api_key.lower() not in str(said).lower()


SECRETS_IN_LOGS = [
    ("Exception on /upload/eyJ1IjoiYSJ9.aBcD.sIgNaTuRe-x [POST]", "eyJ1IjoiYSJ9.aBcD"),
    ("Error handling request /download/InZpcCI.abc.def?x=1", "InZpcCI"),
    ("GET /images/p.eyJiIjoiMSJ9.x.y HTTP/1.1", "eyJiIjoiMSJ9"),
    ("Authorization: Bearer ya29.a0AfH6SM-secret", "a0AfH6SM"),
    ("Max retries exceeded with url: /tokeninfo?access_token=ya29.opaque-secret", "opaque"),
    ("id token eyJhbGciOiJSUzI1NiJ9.eyJlbWFpbCI6ImEifQ.c2lnbmF0dXJl refused", "c2lnbmF0dXJl"),
]


@pytest.mark.parametrize("line, secret", SECRETS_IN_LOGS, ids=[s for _, s in SECRETS_IN_LOGS])
def test_no_signed_link_or_token_reaches_a_log(app, caplog, line, secret):
    with caplog.at_level(logging.INFO):
        logging.getLogger("gunicorn.error").error("%s", line)
        try:
            raise RuntimeError(line)
        except RuntimeError:
            logging.getLogger("server.web.api").exception("unexpected error")
    assert len(caplog.records) == 2
    assert secret not in caplog.text
    assert all(secret not in record.getMessage() for record in caplog.records)


def test_an_unexpected_failure_tells_the_sheet_no_server_folder(batches, tmp_path):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the images should go")
    settings = Settings(data_dir=tmp_path)
    batch_id = batches.create({2: ImageRequest(prompt="a fox", visibility="public", num_images=1)},
                              owner=ALICE, provider="preview",
                              account=account_id("preview", settings),
                              storage_root=str(blocked), storage_key="images")
    # Storage that cannot take an image pauses the batch before anything is paid for; what the
    # person reads says why, without the server's folders.
    assert ImageMaker(batches, settings).make(batch_id, 2, 1) == "stopped"
    paused = batches.get(batch_id).paused
    assert paused.startswith("Images cannot be stored (") and str(tmp_path) not in paused
