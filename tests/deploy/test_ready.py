"""/api/ready says what is missing: no worker alive, or storage refusing writes, is 503 with
the failing check named; /api/health stays 200 (the process itself is fine)."""
from __future__ import annotations

import httpx
import pytest

from testkit.processes import free_port
from tests.deploy.web_batch import wait_ready


def test_ready_waits_for_a_worker(backend, backend_env, workers):
    answer = httpx.get(f"{backend}/api/ready")
    assert answer.status_code == 503 and answer.json()["checks"]["workers"] == {"ok": False}
    assert answer.json()["checks"]["redis"]["ok"] and answer.json()["checks"]["storage"]["ok"]
    assert httpx.get(f"{backend}/api/health").json() == {"ok": True}
    workers.env = backend_env
    workers.start(1)
    report = wait_ready(backend)
    assert report["checks"]["workers"]["count"] == 1 and report["version"]


@pytest.fixture
def unreachable_bucket(backend_env):
    backend_env.update(SHEETBATCH_S3_BUCKET="images", AWS_ACCESS_KEY_ID="test",
                       AWS_SECRET_ACCESS_KEY="test", AWS_DEFAULT_REGION="us-east-1",
                       SHEETBATCH_S3_ENDPOINT=f"http://127.0.0.1:{free_port()}",
                       AWS_MAX_ATTEMPTS="1")


def test_ready_fails_when_storage_refuses_writes(unreachable_bucket, backend):
    answer = httpx.get(f"{backend}/api/ready", timeout=60)
    assert answer.status_code == 503 and answer.json()["checks"]["storage"] == {"ok": False}
    assert "127.0.0.1" not in answer.text  # what failed, not where: that goes to the log
