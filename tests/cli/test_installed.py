"""The installed program, not the checkout: the wheel goes into a fresh virtualenv outside the
repository, and `sheetbatch run`, `serve` and `worker` work from there (everything they need at
run time — templates, price table, gunicorn config — is package data): the README's deploy steps
without Docker, up to a server that passes /api/ready and runs a batch."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile

import httpx
import pytest

from server.cli.embedded_redis import EmbeddedRedis
from testkit import ROOT
from testkit.processes import free_port, wait_for
from tests.deploy.web_batch import start_upload_batch, wait_finished, wait_ready

pytestmark = pytest.mark.processes  # minutes, but it is the fresh install: it runs in CI


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """`sheetbatch` installed from a freshly built wheel into a new virtualenv."""
    where = tmp_path_factory.mktemp("installed")
    build = where / "build"
    shutil.copytree(ROOT, build, ignore=shutil.ignore_patterns(
        ".git", ".venv", "node_modules", "out", "data", "*.egg-info", "build", "__pycache__"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
                    str(where / "dist"), str(build)], check=True, timeout=300)
    [wheel] = (where / "dist").glob("sheetbatch-*.whl")
    venv = where / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    # As the README's deploy steps do: exactly the lock, hashes checked, then the wheel alone.
    locked = where / "locked.txt"
    subprocess.run([ROOT / ".tools" / "bin" / "uv", "export", "--locked", "--no-dev", "--quiet",
                    "--no-emit-project", "--project", str(ROOT), "-o", str(locked)],
                   check=True, timeout=120)
    pip = [venv / "bin" / "python", "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, "--require-hashes", "-r", str(locked)], check=True, timeout=600)
    subprocess.run([*pip, "--no-deps", str(wheel)], check=True, timeout=300)
    return venv / "bin" / "sheetbatch"


def clean_env(tmp_path) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items()
           if name not in ("PYTHONPATH", "REDIS_URL", "IDEOGRAM_API_KEY", "OPENAI_API_KEY",
                           "SHEETBATCH_PROVIDER")}
    return env | {"SHEETBATCH_DATA": str(tmp_path / "data")}


def test_installed_run_makes_the_example_batch(installed, tmp_path):
    example = tmp_path / "stickers.xlsx"
    shutil.copy(ROOT / "examples" / "stickers.xlsx", example)
    result = subprocess.run([installed, "run", str(example), "--out", str(tmp_path / "out"),
                             "--workers", "2"], cwd=tmp_path, env=clean_env(tmp_path),
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    with zipfile.ZipFile(tmp_path / "out" / "images.zip") as archive:
        assert len([n for n in archive.namelist() if n.endswith(".png")]) == 8


def test_installed_serve_and_worker_run_a_batch(installed, tmp_path, google):
    redis = EmbeddedRedis(tmp_path / "redis").start()
    port = free_port()
    env = clean_env(tmp_path) | {
        "REDIS_URL": redis.url, "SHEETBATCH_SECRET_KEY": "installed-test-signing-key",
        # People sign in here, so links are built from the configured address, never the Host.
        "SHEETBATCH_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "GOOGLE_CLIENT_ID": google.audience, "GOOGLE_CERTS_URL": google.certs_url,
        "GOOGLE_TOKENINFO_URL": google.tokeninfo_url}
    server = subprocess.Popen([installed, "serve", "--port", str(port)], cwd=tmp_path, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    worker = subprocess.Popen([installed, "worker", "-n", "2"], cwd=tmp_path, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"

    def health():
        try:
            return httpx.get(f"{url}/api/health", timeout=2).json() == {"ok": True}
        except httpx.HTTPError:
            return False

    try:
        wait_for(health, timeout=60, what="the installed `sheetbatch serve` to answer")
        assert httpx.get(f"{url}/api/openapi.json").json()["info"]["title"] == "sheetbatch"
        assert wait_ready(url, workers=2)["version"] == "0.1.0"
        batch_id = start_upload_batch(url, google, "alice@example.com",
                                      ROOT / "examples" / "stickers.csv", "preview")
        status = wait_finished(url, google, "alice@example.com", batch_id)
        assert status["status"] == "completed" and status["images"]["done"] == 8
        assert len(list((tmp_path / "data" / "images" / batch_id).glob("*.png"))) == 8
    finally:
        for process in (worker, server):
            process.terminate()
            process.wait(timeout=30)
        redis.stop()
