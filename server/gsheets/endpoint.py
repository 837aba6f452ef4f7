"""Point a requests session (e.g. gspread's AuthorizedSession) at another Google API endpoint.

Used to run gspread against the local Sheets emulator:

    gc = gspread.authorize(google.oauth2.credentials.Credentials("tok"))
    point_session_at(gc.http_client.session, "http://127.0.0.1:8790")
"""
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter

GOOGLE_PREFIXES = ("https://sheets.googleapis.com", "https://www.googleapis.com")


class GoogleEndpointAdapter(HTTPAdapter):
    """Rewrites https://sheets.googleapis.com/... and https://www.googleapis.com/... onto
    base_url, keeping the (still percent-encoded) path and query."""

    def __init__(self, base_url, **kwargs):
        super().__init__(**kwargs)
        self.base = urlsplit(base_url.rstrip("/"))

    def send(self, request, **kwargs):
        parts = urlsplit(request.url)
        request.url = urlunsplit((self.base.scheme, self.base.netloc,
                                  self.base.path + parts.path, parts.query, parts.fragment))
        return super().send(request, **kwargs)


def point_session_at(session: requests.Session, base_url: str) -> requests.Session:
    adapter = GoogleEndpointAdapter(base_url)
    for prefix in GOOGLE_PREFIXES:
        session.mount(prefix, adapter)
    return session
