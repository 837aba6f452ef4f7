"""One file-batch service behind both upload pages: the signed-in batch page and the sidebar's
signed upload link check the same file with the same provider's limits (the same warnings),
start it once, and discard the upload once its batch has started."""
from __future__ import annotations

import io
import re

import pytest

from server.web.signin import LOCAL_PERSON
from testkit import ROOT

LOCAL = {"REMOTE_ADDR": "127.0.0.1"}  # single-user mode: this computer is signed in
STICKERS = ROOT / "examples" / "stickers.xlsx"


@pytest.fixture
def app_settings():
    # One person at this computer (no sign-in); a key makes openai runnable, and nothing here
    # reaches it (no worker takes the jobs).
    return {"google_client_ids": (), "openai_api_key": "k"}


def kept_uploads(services) -> list[str]:
    folder = services.uploads.folder
    return sorted(path.name for path in folder.iterdir()) if folder.is_dir() else []


def warnings_shown(page: str) -> list[str]:
    """Each warning row's message (the row's last cell), in the order shown."""
    rows = re.findall(r'<tr class="warning"[^>]*>(.*?)</tr>', page, re.DOTALL)
    return [re.findall(r"<td[^>]*>(.*?)</td>", row, re.DOTALL)[-1].strip() for row in rows]


def hidden(page: str, name: str) -> str:
    return re.search(rf'name="{name}" value="([^"]*)"', page).group(1)


def signed_in_upload(client, provider: str) -> tuple[str, str]:
    """Upload through the batch page as the person at this computer: (upload id, page shown)."""
    form = client.get("/", environ_base=LOCAL).get_data(as_text=True)
    sent = client.post("/upload", data={
        "csrf_token": hidden(form, "csrf_token"), "provider": provider,
        "file": (io.BytesIO(STICKERS.read_bytes()), STICKERS.name)},
        content_type="multipart/form-data", environ_base=LOCAL)
    assert sent.status_code == 303
    page = client.get(sent.headers["Location"], environ_base=LOCAL).get_data(as_text=True)
    return hidden(page, "upload_id"), page


def sidebar_upload(client, token: str, provider: str) -> tuple[str, str]:
    """Upload through the sidebar's signed link: (upload id, page shown)."""
    sent = client.post(f"/upload/{token}", data={
        "provider": provider, "file": (io.BytesIO(STICKERS.read_bytes()), STICKERS.name)},
        content_type="multipart/form-data")
    assert sent.status_code == 200
    page = sent.get_data(as_text=True)
    return hidden(page, "upload_id"), page


@pytest.mark.parametrize("provider", ["openai", "preview"])
def test_both_upload_pages_warn_alike_for_the_chosen_provider(client, services, provider):
    token = services.signer.upload_token(LOCAL_PERSON)
    _, on_batch_page = signed_in_upload(client, provider)
    _, on_sidebar_page = sidebar_upload(client, token, provider)
    assert warnings_shown(on_batch_page) == warnings_shown(on_sidebar_page)
    if provider == "openai":  # gpt-image-1 takes no seed, no negative prompt, no palette …
        assert len(warnings_shown(on_batch_page)) == 19
    else:
        assert warnings_shown(on_batch_page) == []


def test_both_upload_pages_start_once_and_discard_the_upload(client, services):
    upload_id, page = signed_in_upload(client, "preview")
    assert kept_uploads(services) == [upload_id]
    start = {"csrf_token": hidden(page, "csrf_token"), "upload_id": upload_id,
             "provider": "preview"}
    started = client.post("/start", data=start, environ_base=LOCAL)
    assert started.status_code == 303 and kept_uploads(services) == []
    again = client.post("/start", data=start, environ_base=LOCAL)  # the same batch, not a second
    assert again.headers["Location"] == started.headers["Location"]
    assert len(services.batches.list_for(LOCAL_PERSON)) == 1

    token = services.signer.upload_token(LOCAL_PERSON)
    upload_id, _ = sidebar_upload(client, token, "preview")
    assert kept_uploads(services) == [upload_id]
    start = {"upload_id": upload_id, "provider": "preview"}
    started = client.post(f"/upload/{token}/start", data=start)
    assert started.status_code == 303 and kept_uploads(services) == []
    again = client.post(f"/upload/{token}/start", data=start)
    assert again.headers["Location"] == started.headers["Location"]
    assert len(services.batches.list_for(LOCAL_PERSON)) == 2
