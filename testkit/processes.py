"""Real processes for tests and benchmarks: a free port, waiting for a condition, `sheetbatch
serve` on a port of its own, and `sheetbatch worker` processes that can be killed one by one."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from typing import Iterator

import httpx

from testkit import ROOT


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(predicate, timeout: float = 60.0, interval: float = 0.1, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@contextmanager
def serving(env: dict[str, str], output=subprocess.DEVNULL) -> Iterator[str]:
    """`sheetbatch serve` (gunicorn) on a free port, its output to `output`; yields its URL and
    checks on the way out that stopping it stopped its gunicorn too."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {"SHEETBATCH_PUBLIC_URL": url, **env}  # a server people sign in to needs one
    process = subprocess.Popen([sys.executable, "-m", "server", "serve", "--port", str(port)],
                               env=env, cwd=ROOT, stdout=output, stderr=output)

    def healthy():
        try:
            return httpx.get(f"{url}/api/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_for(healthy, timeout=30, what="sheetbatch serve to answer")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)
    wait_for(lambda: not healthy(), timeout=20, what="gunicorn to stop with sheetbatch serve")


class WorkerProcesses:
    """Real `sheetbatch worker` processes, each in its own process group so a test can kill
    one (and the job it is running) with SIGKILL."""

    def __init__(self, env: dict[str, str]):
        self.env = env
        self.processes: list[subprocess.Popen] = []

    def start(self, count: int = 1, per_process: int = 1, **env: str) -> list[subprocess.Popen]:
        started = [subprocess.Popen(
            [sys.executable, "-m", "server", "worker", "-n", str(per_process)],
            env=dict(self.env, **env), cwd=ROOT, start_new_session=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for _ in range(count)]
        self.processes += started
        return started

    def kill(self, process: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            pass
        process.wait(timeout=20)

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                self.kill(process, signal.SIGTERM)
