"""Links the server hands out use the configured public URL, or the proxy's forwarded headers
when (and only when) that many proxies are trusted — never whatever Host a caller sends."""
from __future__ import annotations

import httpx
import pytest

FORWARDED = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "sheets.example.org",
             "X-Forwarded-For": "203.0.113.9"}


def upload_link(backend: str, google, headers: dict[str, str]) -> str:
    answer = httpx.post(f"{backend}/api/upload-link", headers={
        "Authorization": f"Bearer {google.identity_token('alice@example.com')}", **headers})
    assert answer.status_code == 200, answer.text
    return answer.json()["url"]


@pytest.fixture
def behind_one_proxy(backend_env):
    backend_env["SHEETBATCH_TRUSTED_PROXIES"] = "1"


@pytest.fixture
def public_url(backend_env):
    backend_env["SHEETBATCH_PUBLIC_URL"] = "https://batch.example.com/"


def test_forwarded_headers_are_ignored_without_trusted_proxies(backend, google):
    link = upload_link(backend, google, FORWARDED | {"Host": "evil.example"})
    assert link.startswith("http://evil.example/upload/")  # the raw request, as asked for
    assert "sheets.example.org" not in link


def test_a_trusted_proxy_names_the_public_address(behind_one_proxy, backend, google):
    assert upload_link(backend, google, FORWARDED).startswith("https://sheets.example.org/upload/")


def test_the_configured_public_url_wins_over_any_host(public_url, backend, google):
    link = upload_link(backend, google, FORWARDED | {"Host": "evil.example"})
    assert link.startswith("https://batch.example.com/upload/")
    # The link works when followed (here straight to the server, as the proxy would).
    assert httpx.get(backend + link.removeprefix("https://batch.example.com")).status_code == 200
