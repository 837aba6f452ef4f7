"""The image-API fake every generation test talks to over real HTTP, fresh for each test."""
from __future__ import annotations

import httpx
import pytest

from testkit.fakes import FakeImageAPI
from testkit.processes import wait_for


@pytest.fixture(scope="module")
def fake():
    with FakeImageAPI() as server:
        yield server


@pytest.fixture(autouse=True)
def fresh(fake):
    # A request an earlier test gave up on (timeouts) may still be generating: let it finish.
    wait_for(lambda: fake.stats()["in_flight"] == 0, timeout=5, what="earlier requests to end")
    fake.reset()


@pytest.fixture(scope="module")
def client():
    with httpx.Client() as shared:
        yield shared
