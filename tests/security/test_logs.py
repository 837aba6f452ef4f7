"""The log check: a real `sheetbatch serve` (gunicorn) with its log captured is sent bad tokens,
signed links of every kind, hostile uploads and a request that fails on our side (a stored image
that cannot be decoded, so Flask logs "Exception on /thumbs/<link>" with its traceback); no
token, signed link or provider key may appear anywhere in what it logged."""
from __future__ import annotations

import httpx
import pytest

from server.config import Settings
from server.services import Services
from server.sheet.request import ImageRequest
from server.storage import batch_storage
from testkit import hostile_files
from testkit.processes import serving, wait_for

ALICE = "alice@example.com"


@pytest.fixture
def logged_backend(backend_env, tmp_path):
    """`sheetbatch serve` whose output (gunicorn's error log, Flask's log) goes to a file."""
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log, serving(backend_env, log) as url:
        yield url, log_path


def test_no_secret_or_signed_link_reaches_the_log(logged_backend, backend_env, google, tmp_path):
    url, log_path = logged_backend
    services = Services(Settings(
        redis_url=backend_env["REDIS_URL"], data_dir=tmp_path / "data",
        secret_key=backend_env["SHEETBATCH_SECRET_KEY"]))
    services.settings.data_dir.mkdir(parents=True, exist_ok=True)
    # Alice's batch, stored where the server keeps images, with an image no decoder can read.
    batch_id = services.batches.create(
        {2: ImageRequest(prompt="a fox", visibility="public", num_images=1)},
        owner=ALICE, provider="preview", account="preview-account",
        storage_root=backend_env["SHEETBATCH_DATA"] + "/images",
        storage_key="broken")
    storage, key = batch_storage(services.batches.get(batch_id), services.settings)
    image = storage.save(key, 2, 1, "a fox", b"\x89PNG\r\n\x1a\n but not really", seed=1,
                         used_prompt="a fox")
    signer = services.signer
    identity, access = google.identity_token(ALICE), google.access_token(ALICE)
    secrets = {
        "identity token": identity, "access token": access,
        "thumb link": signer.image_token(batch_id, image.name, private=False),
        "image link": signer.image_token(batch_id, image.name, private=True),
        "zip link": signer.zip_token(batch_id, ALICE),
        "gallery link": signer.gallery_token(batch_id, ALICE),
        "upload link": signer.upload_token(ALICE),
        "provider key": backend_env["IDEOGRAM_API_KEY"],
    }
    thumb = httpx.get(f"{url}/thumbs/{secrets['thumb link']}")
    assert thumb.status_code == 500  # the failure that gets logged, with its link in the path
    for token in (identity, access, identity[:-5] + "xxxxx", "ya29.bogus"):
        httpx.get(f"{url}/api/batches", headers={"Authorization": f"Bearer {token}",
                                                 "X-Google-Access-Token": access})
    for kind in ("image link", "zip link", "gallery link", "upload link"):
        path = {"image link": "images", "zip link": "download", "gallery link": "gallery",
                "upload link": "upload"}[kind]
        httpx.get(f"{url}/{path}/{secrets[kind]}")
        httpx.get(f"{url}/{path}/{secrets[kind][:-4]}AAAA")
    upload = f"{url}/upload/{secrets['upload link']}"
    for maker in (hostile_files.wide_csv, hostile_files.bare_cr_csv):
        path = maker(tmp_path, 0.01)
        httpx.post(upload, files={"file": (path.name, path.read_bytes())}, timeout=60)
    httpx.post(upload, files={"file": ("n" * 300 + ".csv", b"prompt,visibility\na,public\n")})

    def logged() -> str:
        return log_path.read_text(errors="replace")
    wait_for(lambda: "Exception on /thumbs/" in logged(), timeout=20, what="the logged failure")
    text = logged()
    for name, secret in secrets.items():
        signature = secret.rsplit(".", 1)[-1]
        assert secret not in text and signature not in text, f"the {name} was logged"
