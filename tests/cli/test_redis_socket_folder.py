"""The embedded Redis socket lives in a folder only we may use (issue 23): made by us with mode
0700, and refused — before anything connects to it — when another user made it, anyone else may
write in it, it is a link, or the socket in it is not ours. Real `redis-server` processes."""
from __future__ import annotations

import os
import socket
import stat

import pytest

from server.cli.embedded_redis import EmbeddedRedis

NOBODY = 65534


@pytest.fixture
def runtime(tmp_path, monkeypatch):
    folder = tmp_path / "run"
    folder.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(folder))
    return folder / "sheetbatch"


def test_the_socket_folder_is_made_ours_with_mode_0700(tmp_path, runtime):
    server = EmbeddedRedis(tmp_path / "redis").start()
    try:
        assert server.socket.parent == runtime and server.ping()
        info = runtime.lstat()
        assert stat.S_IMODE(info.st_mode) == 0o700 and info.st_uid == os.getuid()
    finally:
        server.stop()


@pytest.mark.skipif(os.getuid() != 0, reason="making a folder of another user needs root")
def test_a_folder_another_user_made_is_refused(tmp_path, runtime):
    runtime.mkdir(mode=0o700)
    os.chown(runtime, NOBODY, NOBODY)
    with pytest.raises(RuntimeError, match="not a folder we made"):
        EmbeddedRedis(tmp_path / "redis").start()


def test_a_folder_others_may_write_in_is_refused(tmp_path, runtime):
    runtime.mkdir()
    runtime.chmod(0o777)
    with pytest.raises(RuntimeError, match=r"may be used by other users \(mode 777\)"):
        EmbeddedRedis(tmp_path / "redis").start()


def test_a_link_is_refused(tmp_path, runtime):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    runtime.symlink_to(elsewhere)
    with pytest.raises(RuntimeError, match="not a folder we made"):
        EmbeddedRedis(tmp_path / "redis").start()


@pytest.mark.skipif(os.getuid() != 0, reason="planting another user's socket needs root")
def test_a_socket_another_user_planted_is_refused(tmp_path, runtime):
    server = EmbeddedRedis(tmp_path / "redis")
    runtime.mkdir(mode=0o700)
    with socket.socket(socket.AF_UNIX) as planted:
        planted.bind(str(server.socket))
        os.chown(server.socket, NOBODY, NOBODY)
        with pytest.raises(RuntimeError, match="not a socket we made"):
            server.start()
