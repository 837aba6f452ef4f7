"""Every generation test talks to the image-API fake (the `image_api` fixture) over real HTTP,
through one shared HTTP client, the fake settled and reset before each test."""
from __future__ import annotations

import httpx
import pytest

from testkit.processes import wait_for


@pytest.fixture(autouse=True)
def settled(image_api_server):
    # A request an earlier test gave up on (timeouts) may still be generating: let it finish
    # before the reset, which would otherwise count it from zero.
    wait_for(lambda: image_api_server.stats()["in_flight"] == 0, timeout=5,
             what="earlier requests to end")
    image_api_server.reset()


@pytest.fixture(scope="module")
def http():
    """One HTTP client for a module's calls to the fake, as a provider keeps one."""
    with httpx.Client() as shared:
        yield shared
