"""Shared fixtures: a real Redis server, the image-API fake, and real worker processes."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from server.batches.store import Batches
from server.cli.embedded_redis import EmbeddedRedis
from server.config import Settings
from server.generation.providers import account_id
from server.services import connect
from server.web.app import create_app
from testkit import ROOT
from testkit.fakes.chat_api import FakeChatAPI
from testkit.fakes.google_auth import FakeGoogleAuth
from testkit.fakes.image_api import FakeImageAPI
from testkit.processes import WorkerProcesses, serving
from testkit.sheets_emulator.server import EmulatorServer

CHROMIUM = Path("/usr/bin/chromium")  # Debian's package; scripts/test installs it
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run"]


# Tests that start processes (servers, workers, the command line) are marked `processes`; the
# rest `unit`: `pytest -m unit` runs in seconds. A test that starts a process itself, without one
# of these fixtures, carries the `processes` mark explicitly.
PROCESS_FIXTURES = {"redis_server", "image_api_server", "emulator", "google", "backend",
                    "browser", "workers", "chat_api_server"}


def pytest_collection_modifyitems(items):
    for item in items:
        if not item.get_closest_marker("processes"):
            starts = PROCESS_FIXTURES & set(item.fixturenames)
            item.add_marker(pytest.mark.processes if starts else pytest.mark.unit)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture
def redis_conn(redis_server):
    connection = connect(redis_server.url)
    connection.flushall()
    return connection


@pytest.fixture
def batches(redis_conn):
    return Batches(redis_conn)


@pytest.fixture(scope="session")
def image_api_server():
    with FakeImageAPI() as fake:
        yield fake


@pytest.fixture
def image_api(image_api_server):
    image_api_server.reset()
    return image_api_server


@pytest.fixture(scope="session")
def chat_api_server():
    with FakeChatAPI(retry_after="0") as fake:
        yield fake


@pytest.fixture
def chat_api(chat_api_server):
    """The chat-completions fake, defaults restored (Retry-After 0, so retries do not wait)."""
    chat_api_server.reset()
    chat_api_server.configure(retry_after="0")
    return chat_api_server


@pytest.fixture
def worker_env(redis_server, image_api, tmp_path):
    """What a worker process needs to reach our Redis and the fake image API."""
    return dict(os.environ, REDIS_URL=redis_server.url, SHEETBATCH_DATA=str(tmp_path / "data"),
                IDEOGRAM_API_KEY=image_api.api_key, IDEOGRAM_BASE_URL=image_api.url,
                IDEOGRAM_IMAGE_HOSTS=image_api.image_host, SHEETBATCH_PROVIDER="ideogram",
                PYTHONPATH=str(ROOT))


@pytest.fixture
def account(worker_env):
    """provider name → the account id the worker processes pay that provider with."""
    settings = Settings.from_env(worker_env)
    return lambda provider: account_id(provider, settings)


@pytest.fixture
def workers(worker_env):
    pool = WorkerProcesses(worker_env)
    yield pool
    pool.stop_all()


@pytest.fixture(scope="module")
def emulator():
    with EmulatorServer() as server:
        yield server


@pytest.fixture(scope="module")
def google():
    """A local Google token issuer (identity-token certificates and tokeninfo)."""
    with FakeGoogleAuth() as issuer:
        yield issuer


def added_by_module(request, fixture: str) -> dict:
    """What a module adds to a shared fixture, returned by its own fixture named `fixture`
    (`app_settings`, `backend_settings`); nothing if it has none. Modules add to the shared
    fixtures this way instead of redefining them: no fixture shadows another."""
    try:
        return request.getfixturevalue(fixture)
    except pytest.FixtureLookupError:
        return {}


@pytest.fixture
def backend_env(request, worker_env, emulator, google):
    """What the web app and its workers need: every Google endpoint pointed at a local fake.
    A module's `backend_settings` fixture adds variables to it (None removes one)."""
    env = dict(worker_env, GOOGLE_CLIENT_ID=google.audience, GOOGLE_CERTS_URL=google.certs_url,
               GOOGLE_TOKENINFO_URL=google.tokeninfo_url, SHEETBATCH_GOOGLE_API_URL=emulator.url,
               SHEETBATCH_SECRET_KEY="test-secret", SHEETBATCH_MONTHLY_BUDGET="1",
               SHEETBATCH_FLUSH_INTERVAL="1") | added_by_module(request, "backend_settings")
    return {name: value for name, value in env.items() if value is not None}


@pytest.fixture
def backend(backend_env):
    """`sheetbatch serve` on a free port; yields its base URL."""
    with serving(backend_env) as url:
        yield url


@pytest.fixture
def app_for(redis_server, redis_conn, tmp_path):
    """Builds the web app on the test's Redis (emptied) and a data folder of its own, with the
    settings the test is about: `app_for(max_upload_bytes=1000)`."""
    def build(**settings):
        base = {"redis_url": redis_server.url, "data_dir": tmp_path / "data", "secret_key": "s"}
        return create_app(Settings(**base | settings))
    return build


@pytest.fixture
def app(request, app_for, google):
    """The web app people sign in to with the local Google issuer. A module's `app_settings`
    fixture adds `Settings` fields to it (`google_client_ids=()`: one person at this computer,
    no sign-in)."""
    return app_for(**google.sign_in_settings() | added_by_module(request, "app_settings"))


@pytest.fixture
def client(app):
    """Flask's test client of the module's `app`."""
    return app.test_client()


@pytest.fixture
def services(app):
    return app.extensions["sheetbatch"]


@pytest.fixture(scope="session")
def moto_endpoint():
    """A real HTTP S3 fake (moto server mode) on a free port."""
    pytest.importorskip("boto3", reason="boto3 not installed: S3 storage not tested")
    server_mod = pytest.importorskip(
        "moto.server", reason="moto[server] not installed: S3 storage not tested")
    server = server_mod.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(scope="session")
def browser():
    """Real headless Chromium, driven by Playwright."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
