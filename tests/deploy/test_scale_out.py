"""Scale out on the engine we already use: the web process and two worker groups, each with its
own data folder as two machines would have, share one Redis and one S3 bucket (moto's server).
A batch started through the web API completes with images made by both groups, every image is
in the bucket, and the ZIP has them all."""
from __future__ import annotations

import io
import subprocess
import sys
import uuid
import zipfile

import boto3
import httpx
import pytest

from server.batches.store import Batches
from testkit import ROOT
from testkit.processes import free_port
from tests.deploy.web_batch import start_upload_batch, wait_finished, wait_ready

pytestmark = pytest.mark.processes
ALICE = "scale.out@example.com"  # nobody else's spending in the shared test Redis


@pytest.fixture
def bucket(moto_endpoint):
    name = f"sb-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1",
                 aws_access_key_id="test", aws_secret_access_key="test").create_bucket(Bucket=name)
    return name


@pytest.fixture
def shared_env(backend_env, moto_endpoint, bucket, image_api):
    """What every machine shares: Redis, the bucket, the signing key, the provider account."""
    image_api.configure(latency=0.3)  # long enough that four workers all take part
    return dict(backend_env, SHEETBATCH_S3_BUCKET=bucket, SHEETBATCH_S3_ENDPOINT=moto_endpoint,
                SHEETBATCH_S3_PREFIX="images", AWS_ACCESS_KEY_ID="test",
                AWS_SECRET_ACCESS_KEY="test", AWS_DEFAULT_REGION="us-east-1",
                SHEETBATCH_MONTHLY_BUDGET="50")


def machine(env: dict, tmp_path, name: str, *command: str) -> subprocess.Popen:
    """A `sheetbatch` process as if on its own machine: its own data folder and node name."""
    machine_env = dict(env, SHEETBATCH_DATA=str(tmp_path / name), SHEETBATCH_NODE=name)
    return subprocess.Popen([sys.executable, "-m", "server", *command], env=machine_env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_two_worker_groups_share_one_redis_and_one_bucket(shared_env, tmp_path, google,
                                                          redis_conn, bucket, moto_endpoint):
    port = free_port()
    processes = [machine(dict(shared_env, SHEETBATCH_PUBLIC_URL=f"http://127.0.0.1:{port}"),
                         tmp_path, "web-host", "serve", "--port", str(port)),
                 machine(shared_env, tmp_path, "machine-a", "worker", "-n", "2"),
                 machine(shared_env, tmp_path, "machine-b", "worker", "-n", "2")]
    url = f"http://127.0.0.1:{port}"
    try:
        report = wait_ready(url, workers=4)
        assert report["checks"]["storage"] == {"ok": True, "kind": "s3"}
        batch_id = start_upload_batch(url, google, ALICE, ROOT / "examples" / "stickers.csv",
                                      "ideogram")
        status = wait_finished(url, google, ALICE, batch_id)
        assert status["status"] == "completed" and status["images"]["done"] == 8

        rows = Batches(redis_conn).status(batch_id).rows
        makers = {image["worker"].rpartition(".")[0]
                  for row in rows.values() for image in row.images}
        assert makers == {"machine-a", "machine-b"}

        s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1",
                          aws_access_key_id="test", aws_secret_access_key="test")
        listed = s3.list_objects_v2(Bucket=bucket, Prefix=f"images/{batch_id}/")["Contents"]
        assert len([o for o in listed if o["Key"].endswith(".png")]) == 8
        # Neither machine kept an image in its own folder: the bucket is the only copy.
        assert not list(tmp_path.glob("machine-*/images/**/*.png"))

        auth = {"Authorization": f"Bearer {google.identity_token(ALICE)}"}
        link = httpx.post(f"{url}/api/batches/{batch_id}/zip-link", headers=auth).json()["url"]
        archive = zipfile.ZipFile(io.BytesIO(httpx.get(link, timeout=60).content))
        assert len([n for n in archive.namelist() if n.endswith(".png")]) == 8
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)
