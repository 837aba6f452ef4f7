"""The app every security test attacks: real Redis, the local Google issuer, Flask's test client."""
from __future__ import annotations

import pytest

from server.config import Settings
from server.web.app import create_app


@pytest.fixture
def app(redis_server, redis_conn, google, tmp_path):
    return create_app(Settings(redis_url=redis_server.url, data_dir=tmp_path / "data",
                               secret_key="s", google_client_ids=(google.audience,),
                               google_certs_url=google.certs_url,
                               google_tokeninfo_url=google.tokeninfo_url))
