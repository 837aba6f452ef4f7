"""Links the server hands out use the configured public URL, or the proxy's forwarded headers
when (and only when) that many proxies are trusted — never whatever Host a caller sends."""
from __future__ import annotations

import subprocess
import sys

import httpx
import pytest

from testkit import ROOT
from testkit.processes import free_port

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


def test_a_server_people_sign_in_to_needs_a_public_url(backend_env):
    """Issue 23: without it, links written into sheets (and Google's login_uri) followed
    whatever Host a request named."""
    env = {name: value for name, value in backend_env.items() if name != "SHEETBATCH_PUBLIC_URL"}
    refused = subprocess.run([sys.executable, "-m", "server", "serve", "--port", str(free_port())],
                             env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "SHEETBATCH_PUBLIC_URL" in refused.stderr


def test_links_never_follow_the_host(backend, google):
    link = upload_link(backend, google, FORWARDED | {"Host": "evil.example"})
    assert link.startswith(f"{backend}/upload/")


def test_behind_a_trusted_proxy_links_still_start_with_the_public_url(behind_one_proxy, backend,
                                                                      google):
    assert upload_link(backend, google, FORWARDED).startswith(f"{backend}/upload/")


def test_the_configured_public_url_wins_over_any_host(public_url, backend, google):
    link = upload_link(backend, google, FORWARDED | {"Host": "evil.example"})
    assert link.startswith("https://batch.example.com/upload/")
    # The link works when followed (here straight to the server, as the proxy would).
    assert httpx.get(backend + link.removeprefix("https://batch.example.com")).status_code == 200
