"""Only providers that can run are offered: /api/config and the upload page list those whose
key is configured (and the free preview); validating for one that cannot run is refused."""
from __future__ import annotations

import io
import re

import pytest

from testkit.processes import free_port

ALICE = "alice@example.com"


@pytest.fixture
def make_app(app_for, google):
    """The app signed in to with the local issuer, with these provider settings; Google Sheets
    is a closed port."""
    def make(**keys):
        return app_for(**google.sign_in_settings(),
                       google_api_url=f"http://127.0.0.1:{free_port()}", **keys)
    return make


def offered(app, google) -> tuple[list[str], list[str]]:
    client = app.test_client()
    config = client.get("/api/config", headers={
        "Authorization": f"Bearer {google.identity_token(ALICE)}"}).get_json()
    token = app.extensions["sheetbatch"].signer.upload_token(ALICE)
    page = client.get(f"/upload/{token}").get_data(as_text=True)
    return config["providers"], re.findall(r'<option value="([a-z]+)"', page)


@pytest.mark.parametrize("keys, providers", [
    ({}, ["preview"]),
    ({"ideogram_api_key": "k"}, ["ideogram", "preview"]),
    ({"openai_api_key": "k"}, ["openai", "preview"]),
    ({"ideogram_api_key": "k", "openai_api_key": "k"}, ["ideogram", "openai", "preview"]),
])
def test_only_providers_with_a_key_are_offered(make_app, google, keys, providers):
    from_config, on_upload_page = offered(make_app(**keys), google)
    assert from_config == providers and on_upload_page == providers


@pytest.mark.parametrize("path", ["/api/validate", "/api/fix"])
def test_validating_for_a_provider_that_cannot_run_is_refused(make_app, google, path):
    client = make_app().test_client()
    answer = client.post(path, json={"spreadsheet_id": "s1", "provider": "openai"},
                         headers={"Authorization": f"Bearer {google.identity_token(ALICE)}"})
    assert answer.status_code == 400 and answer.get_json()["error"] == "provider"
    assert "OPENAI_API_KEY" in answer.get_json()["message"]


def test_upload_checked_for_a_provider_that_cannot_run_is_refused(make_app):
    app = make_app()
    token = app.extensions["sheetbatch"].signer.upload_token(ALICE)
    answer = app.test_client().post(f"/upload/{token}", data={
        "provider": "ideogram", "file": (io.BytesIO(b"prompt,visibility\nx,public\n"), "s.csv")},
        content_type="multipart/form-data")
    assert answer.status_code == 400 and "IDEOGRAM_API_KEY" in answer.get_data(as_text=True)


def test_the_upload_page_warns_about_what_the_chosen_provider_cannot_carry(make_app):
    app = make_app(openai_api_key="k", openai_model="dall-e-2")
    token = app.extensions["sheetbatch"].signer.upload_token(ALICE)
    sheet = b"prompt,visibility,seed_number,aspect_ratio\na fox,public,5,16:9\n"
    page = app.test_client().post(f"/upload/{token}", data={
        "provider": "openai", "file": (io.BytesIO(sheet), "s.csv")},
        content_type="multipart/form-data").get_data(as_text=True)
    assert "dall-e-2 takes no seed" in page and "nearest size it makes is 1024x1024" in page
    assert "Credits required: 0.08 USD" in page  # four dall-e-2 images at 1024x1024
