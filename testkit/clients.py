"""Our services reached as a person reaches them: gspread with their OAuth token, pointed at the
Sheets emulator, and the headers the add-in sends for them."""
from __future__ import annotations

import gspread
from google.oauth2.credentials import Credentials

from server.gsheets.endpoint import point_session_at


def gspread_client(emulator, access_token: str) -> gspread.Client:
    """gspread as the person whose OAuth token this is, talking to the Sheets emulator."""
    gc = gspread.authorize(Credentials(access_token))
    point_session_at(gc.http_client.session, emulator.url)
    return gc


def addin_headers(google, email: str) -> dict[str, str]:
    """As the add-in calls: the person's identity token, plus their OAuth token for the sheet."""
    return {"Authorization": f"Bearer {google.identity_token(email)}",
            "X-Google-Access-Token": google.access_token(email)}
