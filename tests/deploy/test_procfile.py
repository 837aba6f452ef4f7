"""The Procfile stack on one machine, started with honcho as an operator would: deploy/.env
made from deploy/.env.example, one Redis for web and workers, a batch started through the web
API runs to the end; every line the processes log is JSON with its context and no secret; and
`sheetbatch admin` shows the spend and the queue."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from testkit import ROOT
from testkit.processes import free_port, wait_for
from tests.deploy.web_batch import start_upload_batch, wait_finished, wait_ready

pytestmark = pytest.mark.processes
ALICE = "alice@example.com"
BIN = Path(sys.executable).parent  # where pip put sheetbatch, redis-server and honcho
LINE = re.compile(r"^\S+ (?P<process>[a-z]+)\.\d+\s+\| (?P<text>.*)$")


def env_file(example: Path, values: dict[str, str]) -> str:
    """The example with `values` filled in, as an operator would edit it (each one must be
    in the example already)."""
    lines, filled = [], set()
    for line in example.read_text().splitlines():
        name = line.lstrip("# ").partition("=")[0]
        if name in values:
            lines.append(f"{name}={values[name]}")
            filled.add(name)
        else:
            lines.append(line)
    assert filled == set(values), f"not in {example.name}: {sorted(set(values) - filled)}"
    return "\n".join(lines) + "\n"


def admin(env: dict[str, str], command: str) -> dict:
    done = subprocess.run([BIN / "sheetbatch", "admin", command, "--json"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_procfile_stack_runs_a_batch(backend_env, tmp_path, google):
    port, redis_port = free_port(), free_port()
    url = f"http://127.0.0.1:{port}"
    settings = {name: backend_env[name] for name in (
        "IDEOGRAM_API_KEY", "IDEOGRAM_BASE_URL", "IDEOGRAM_IMAGE_HOSTS", "GOOGLE_CLIENT_ID",
        "GOOGLE_CERTS_URL", "GOOGLE_TOKENINFO_URL", "SHEETBATCH_GOOGLE_API_URL")}
    secret = "procfile-test-signing-key-0123456789"
    settings |= {"SHEETBATCH_DATA": str(tmp_path / "data"),
                 "SHEETBATCH_REDIS_PORT": str(redis_port),
                 "SHEETBATCH_BIND": f"127.0.0.1:{port}", "SHEETBATCH_PUBLIC_URL": url,
                 "SHEETBATCH_SECRET_KEY": secret, "SHEETBATCH_WORKERS": "2",
                 "SHEETBATCH_PROVIDER": "ideogram"}
    (tmp_path / ".env").write_text(env_file(ROOT / "deploy" / ".env.example", settings))
    output = tmp_path / "honcho.log"
    environment = {name: value for name, value in os.environ.items()
                   if not name.startswith(("SHEETBATCH_", "REDIS_", "IDEOGRAM_", "GOOGLE_"))}
    with output.open("w") as log:
        honcho = subprocess.Popen(
            [BIN / "honcho", "-f", ROOT / "deploy" / "Procfile", "-e", tmp_path / ".env",
             "-d", tmp_path, "--no-colour", "start"], cwd=tmp_path, stdout=log,
            stderr=subprocess.STDOUT, env=environment | {"PATH": f"{BIN}:{os.environ['PATH']}"},
            start_new_session=True)
    try:
        wait_ready(url, workers=2)
        batch_id = start_upload_batch(url, google, ALICE, ROOT / "examples" / "stickers.csv",
                                      "ideogram")
        status = wait_finished(url, google, ALICE, batch_id)
        assert status["status"] == "completed" and status["images"]["done"] == 8
        assert len(list((tmp_path / "data" / "images" / batch_id).glob("*.png"))) == 8

        admin_env = environment | {"REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
                                   "SHEETBATCH_DATA": str(tmp_path / "data")}

        def settled():  # the workers settle a finished batch's budget in the background
            [alice] = [entry for entry in admin(admin_env, "spend")["spending"]
                       if entry["person"] == ALICE]
            return alice["reserved"] == 0 and alice["spent"] > 0

        wait_for(settled, timeout=30, interval=0.5, what="the batch's spend to be settled")
        queue = admin(admin_env, "queue")
        assert queue["queued"] == 0 and len(queue["workers"]) == 2
    finally:
        os.killpg(honcho.pid, signal.SIGTERM)
        honcho.wait(timeout=60)

    text = output.read_text()
    assert secret not in text and backend_env["IDEOGRAM_API_KEY"] not in text
    ours = [m["text"] for m in map(LINE.match, text.splitlines())
            if m and m["process"] in ("web", "worker")]
    entries = [json.loads(line) for line in ours]  # every line of ours is one JSON object
    assert all({"request_id", "user", "batch_id"} <= entry.keys() for entry in entries)
    starts = {entry["role"]: entry for entry in entries if entry["logger"] == "sheetbatch.start"}
    assert starts["web"]["listening"] == f"http://127.0.0.1:{port}"
    assert starts["worker"]["redis"] == f"redis://127.0.0.1:{redis_port}/0"
    assert starts["worker"]["providers"] == ["ideogram", "preview"]
    images = [entry for entry in entries if entry.get("outcome") == "done"]
    assert len(images) == 8 and {(e["batch_id"], e["user"]) for e in images} == {(batch_id, ALICE)}
    [started] = [entry for entry in entries if entry["message"].startswith("batch started")]
    assert (started["user"], started["batch_id"], started["images"]) == (ALICE, batch_id, 8)
    requests = [entry for entry in entries if entry["logger"] == "sheetbatch.request"]
    assert any(entry["user"] == ALICE and entry["batch_id"] == batch_id for entry in requests)
    assert all(entry["request_id"] for entry in requests)
