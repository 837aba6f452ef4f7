"""`sheetbatch admin purge`: retention removes finished batches older than asked — records and
images — and leaves running batches, newer batches and spending alone."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from server.batches.launcher import reservation
from server.batches.record import BatchKeys
from server.money.budget import Budgets
from server.sheet.request import ImageRequest
from server.storage import LocalStorage
from testkit import ROOT

pytestmark = pytest.mark.processes


def purge(env: dict[str, str], *options: str) -> str:
    done = subprocess.run([sys.executable, "-m", "server", "admin", "purge", *options], env=env,
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_purge_removes_old_finished_batches_only(batches, redis_conn, redis_server, tmp_path):
    env = dict(os.environ, REDIS_URL=redis_server.url, SHEETBATCH_DATA=str(tmp_path))
    request = {2: ImageRequest("A red boat", "private", num_images=1)}
    finished = batches.create(request, owner="alice@example.com", provider="preview",
                              account="preview-account", title="Old")
    running = batches.create(request, owner="bob@example.com", provider="preview",
                             account="preview-account", title="Busy")
    batches.stop(finished)
    storage = LocalStorage(tmp_path / "images")
    storage.save(finished, 2, 1, "A red boat", b"\x89PNG fake", seed=1, used_prompt="A red boat")
    Budgets(redis_conn, 50).reserve("alice@example.com", reservation(finished), 0.5)

    assert "0 finished batch(es)" in purge(env, "--older-than", "1")  # a day old: none
    assert f"would remove {finished}" in purge(env, "--older-than", "0")
    assert storage.list(finished) and redis_conn.exists(BatchKeys(finished).record)

    assert f"removing {finished}" in purge(env, "--older-than", "0", "--yes")
    assert not storage.list(finished) and not (tmp_path / "images" / finished).exists()
    assert not any(redis_conn.exists(key) for key in BatchKeys(finished).every_key())
    assert batches.list_for("alice@example.com") == []
    assert batches.list_for("bob@example.com") == [running]
    # Settled first, as when its owner deletes it: what it made is charged (nothing here) and
    # the rest of its reservation goes back; the month's spending record stays.
    assert Budgets(redis_conn, 50).state("alice@example.com").reserved == 0.0
    assert redis_conn.exists(Budgets.key("alice@example.com"))
