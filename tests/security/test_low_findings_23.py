"""Issue 23's "low" findings through the Flask app on the embedded Redis, with tokens from the
local fake Google issuer: security headers, the lasting preview link, access tokens of other
apps, and each request that used to answer 500 now answers its 4xx with a message."""
from __future__ import annotations

import io
from urllib.parse import quote

import pytest
from PIL import Image

from server.sheet.request import ImageRequest
from server.storage import batch_storage
from server.uploads.store import MAX_UPLOADS_PER_HOUR
from server.web.app import SECURITY_HEADERS
from testkit import ROOT

ALICE = "alice@example.com"
GOOD = (ROOT / "examples" / "stickers.csv").read_bytes()
WITH_ERRORS = b"prompt,visibility\na fox,secret\n"


def sign_in(client, google, email: str = ALICE) -> None:
    client.set_cookie("g_csrf_token", "check")
    answer = client.post("/signin/google", data={"credential": google.identity_token(email),
                                                 "g_csrf_token": "check"})
    assert answer.status_code == 303


def csrf_token(client) -> str:
    return client.get("/").get_data(as_text=True).split('name="csrf_token" value="')[1] \
        .split('"')[0]


@pytest.mark.parametrize("path", ["/signin", "/api/health", "/api/nothing", "/nothing",
                                  "/static/app.css", "/upload/not-a-link", "/u/nobody"])
def test_every_answer_carries_the_security_headers(client, path):
    answer = client.get(path)
    for name, value in SECURITY_HEADERS.items():
        assert answer.headers.get(name) == value, (path, name)
    if answer.mimetype == "text/html":  # a person's page is never cached
        assert answer.headers.get("Cache-Control") == "no-store", path


def stored_batch(app, visibility: str) -> tuple[str, str]:
    services = app.extensions["sheetbatch"]
    batch_id = services.batches.create(
        {2: ImageRequest(prompt="a fox", visibility=visibility, num_images=1)}, owner=ALICE,
        provider="preview", account="preview-account")
    storage, key = batch_storage(services.batches.get(batch_id), services.settings)
    path = storage.path(key, "0002-1.png")
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (64, 64), "orange").save(path)
    return batch_id, "0002-1.png"


def test_the_lasting_preview_link_opens_only_a_private_rows_thumbnail(app, client):
    signer = app.extensions["sheetbatch"].signer
    private = signer.image_token(*stored_batch(app, "private"), private=False)  # the sheet's
    assert client.get(f"/thumbs/{private}").status_code == 200
    assert client.get(f"/images/{private}").status_code == 404
    public = signer.image_token(*stored_batch(app, "public"), private=False)
    assert client.get(f"/images/{public}").status_code == 200
    expiring = signer.image_token(*stored_batch(app, "private"), private=True)
    assert client.get(f"/images/{expiring}").status_code == 200


def test_an_access_token_needs_our_client(app_for, google):
    """With GOOGLE_CLIENT_ID unset an access token issued to any Google app used to pass."""
    app = app_for(google_tokeninfo_url=google.tokeninfo_url, single_user="off")
    answer = app.test_client().get("/api/config", headers={
        "Authorization": f"Bearer {google.access_token(ALICE)}"})
    assert answer.status_code == 401 and "GOOGLE_CLIENT_ID" in answer.get_json()["message"]


# -- each of the 500s, now a 4xx with a message ------------------------------------------------

def upload_page(app, person: str = ALICE) -> str:
    return f"/upload/{app.extensions['sheetbatch'].signer.upload_token(person)}"


def send(client, page: str, data: bytes, provider: str = "preview"):
    return client.post(page, data={"file": (io.BytesIO(data), "s.csv"), "provider": provider})


def upload_id_of(response) -> str:
    return response.get_data(as_text=True).split('name="upload_id" value="')[1].split('"')[0]


def test_a_non_ascii_email_uploads_and_starts(app, client):
    page = upload_page(app, "zoë@exämple.com")
    checked = send(client, page, GOOD)
    assert checked.status_code == 200
    started = client.post(f"{page}/start", data={"upload_id": upload_id_of(checked),
                                                 "provider": "preview"})
    assert started.status_code == 303


@pytest.mark.parametrize("provider", ["PREVIEW ", " Preview"])
def test_a_provider_name_in_another_spelling_is_that_provider(app, client, provider):
    page = upload_page(app)
    checked = send(client, page, GOOD, provider)
    assert checked.status_code == 200
    started = client.post(f"{page}/start", data={"upload_id": upload_id_of(checked),
                                                 "provider": provider})
    assert started.status_code == 303


def test_json_nested_50000_deep_is_a_400(client, google):
    body = "[" * 50_000 + "]" * 50_000
    answer = client.post("/api/validate", data=body, headers={
        "Content-Type": "application/json",
        "Authorization": f"Bearer {google.identity_token(ALICE)}"})
    assert answer.status_code == 400 and answer.get_json()["error"] == "bad_request"


def test_starting_an_upload_with_errors_is_a_400(app, client, google):
    page = upload_page(app)
    checked = send(client, page, WITH_ERRORS)
    answer = client.post(f"{page}/start", data={"upload_id": upload_id_of(checked),
                                                "provider": "preview"})
    assert answer.status_code == 400 and "problems to fix" in answer.get_data(as_text=True)
    sign_in(client, google)
    upload_id = client.post("/upload", data={"file": (io.BytesIO(WITH_ERRORS), "s.csv"),
                                             "csrf_token": csrf_token(client)}
                            ).headers["Location"].split("upload=")[1].split("&")[0]
    answer = client.post("/start", data={"upload_id": upload_id, "provider": "preview",
                                         "csrf_token": csrf_token(client)})
    assert answer.status_code == 303
    assert "problems to fix" in client.get(answer.headers["Location"]).get_data(as_text=True)


def test_the_upload_past_the_hourly_allowance_is_a_429_on_the_batch_page(client, google):
    sign_in(client, google)
    token = csrf_token(client)
    for _ in range(MAX_UPLOADS_PER_HOUR):
        assert client.post("/upload", data={"file": (io.BytesIO(GOOD), "s.csv"),
                                            "csrf_token": token}).status_code == 303
    answer = client.post("/upload", data={"file": (io.BytesIO(GOOD), "s.csv"),
                                          "csrf_token": token})
    assert answer.status_code == 429 and "Retry-After" in answer.headers
    assert f"uploaded {MAX_UPLOADS_PER_HOUR} files" in answer.get_data(as_text=True)


@pytest.mark.parametrize("query", ["handle=x", "_method=POST", "endpoint=x", "page=2&handle=y"])
def test_paged_signed_in_pages_take_any_query(client, google, query):
    sign_in(client, google)
    assert client.get(f"/creations?{query}").status_code == 200


def test_a_line_break_in_next_is_a_400(client):
    assert client.get(f"/signin?next={quote('/x' + chr(13) + chr(10) + 'y')}").status_code == 400


def test_signing_out_ends_every_copy_of_the_session(app, google):
    """A copied session cookie used to stay signed in for 14 days after the sign-out."""
    browser = app.test_client()
    sign_in(browser, google)
    copied = app.test_client()
    copied.set_cookie("sheetbatch", browser.get_cookie("sheetbatch").value)
    assert copied.get("/creations").status_code == 200
    assert browser.post("/signout", data={"csrf_token": csrf_token(browser)}).status_code == 303
    assert copied.get("/creations").status_code == 302  # to the sign-in page
