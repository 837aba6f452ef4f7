"""When the web app runs for one person without sign-in: the condition in server/config.py."""
from __future__ import annotations

import pytest

from server.config import Settings


@pytest.mark.parametrize("bind, client_id, forced, expected", [
    ("127.0.0.1:8000", None, "auto", True),
    ("localhost:8000", None, "auto", True),
    ("[::1]:8000", None, "auto", True),
    ("127.0.0.1:8000", "client.apps.googleusercontent.com", "auto", False),  # sign-in is set up
    ("0.0.0.0:8000", None, "auto", False),                                   # others can reach it
    ("192.168.1.5:8000", None, "auto", False),
    ("0.0.0.0:8000", None, "on", True),
    ("127.0.0.1:8000", None, "off", False),
])
def test_single_user_mode_only_when_nobody_else_can_reach_the_server(bind, client_id, forced,
                                                                      expected):
    settings = Settings(bind=bind, google_client_ids=(client_id,) if client_id else (),
                        single_user=forced)
    assert settings.single_user_mode is expected
