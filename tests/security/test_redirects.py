"""Where a sign-in may send the browser (issue 23): only a path of this site, whatever `next=`
holds — tabs, line breaks, backslashes, schemes, percent-encoded tricks — on `/signin`, on
Google's `POST /signin/google` and in the `login_uri` the page hands Google; a line break is a
400, never a 500. Through the Flask app with tokens from the local fake Google issuer."""
from __future__ import annotations

import html
import re
from urllib.parse import quote, urlsplit

import pytest

ALICE = "alice@example.com"
HOSTILE = ["//evil.example", "/%09/evil.example", "/\t/evil.example", "/\\evil.example",
           "\\\\evil.example", "https://evil.example/", "/\x0b/evil.example", "/\x00/evil",
           "/ /evil.example", "javascript:alert(1)", "/%5Cevil.example", "/\u3000/evil.example",
           "https:/evil.example", "/\x7f/evil.example"]
LINE_BREAKS = ["/\r\nSet-Cookie: x=1", "/%0d%0aLocation:%20//evil.example", "/\n//evil.example"]


def sign_in(client, google, next_: str):
    client.set_cookie("g_csrf_token", "check")
    return client.post(f"/signin/google?next={quote(next_, safe='%')}",
                       data={"credential": google.identity_token(ALICE), "g_csrf_token": "check"})


def same_site(location: str) -> bool:
    parts = urlsplit(location)
    return (location.startswith("/") and not location.startswith("//") and not parts.netloc
            and not re.search(r"[\x00-\x20\x7f\\]", location))


@pytest.mark.parametrize("target", HOSTILE)
def test_signing_in_never_leads_elsewhere(app, google, target):
    client = app.test_client()
    page = client.get(f"/signin?next={quote(target, safe='%')}")
    assert page.status_code == 200
    login = html.unescape(re.search(r'data-login_uri="([^"]*)"', page.get_data(as_text=True))[1])
    assert "evil" not in login and urlsplit(login).netloc == "localhost"
    answer = sign_in(client, google, target)
    assert answer.status_code == 303 and same_site(answer.headers["Location"]), \
        answer.headers["Location"]
    again = client.get(f"/signin?next={quote(target, safe='%')}")  # signed in: straight on
    assert again.status_code == 302 and same_site(again.headers["Location"])


@pytest.mark.parametrize("target", LINE_BREAKS)
def test_a_line_break_in_a_target_is_a_400(app, google, target):
    client = app.test_client()
    assert client.get(f"/signin?next={quote(target, safe='%')}").status_code == 400
    assert sign_in(client, google, target).status_code == 400


def test_a_path_of_this_site_is_kept(app, google):
    client = app.test_client()
    answer = sign_in(client, google, "/creations?batch=b1&status=done")
    assert answer.headers["Location"] == "/creations?batch=b1&status=done"
