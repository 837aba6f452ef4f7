"""Worker start-up: RQ workers (`workers/worker.py`), each with a housekeeping thread (taking back
the images of workers that died mid-job — RQ itself would notice only after many minutes —,
sheet write-back and budget settlement; one process at a time does each duty).

`run_workers(url, n)` with n > 1 supervises n single-worker processes and restarts any that
die; they die with it. (RQ's WorkerPool did not shut down promptly on SIGTERM once it had run
jobs.)
"""
from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading

import redis

from server import logs
from server.cli.children import start_child, stop_children
from server.config import Settings
from server.generation.maker import worker_name
from server.services import connect
from workers.housekeeping import Housekeeper
from workers.jobs import worker_services
from workers.worker import BatchWorker

SUPERVISE_EVERY_SECONDS = 1.0
EXIT_REDIS_GONE = 3

log = logging.getLogger(__name__)


def run_one_worker(redis_url: str) -> None:
    # The jobs build their services from this process's environment: name the Redis there
    # (it may be the embedded one, started by this very command).
    os.environ["REDIS_URL"] = redis_url
    services = worker_services()
    stop = threading.Event()
    settings = services.settings
    logs.setup(settings)
    threading.Thread(target=Housekeeper(services).run, args=(stop,), daemon=True).start()
    try:
        connection = connect(redis_url)
        BatchWorker(connection, services.image_maker.accounts, services.batches.queue,
                    name=worker_name(settings)).work(
            logging_level="WARNING")  # RQ's per-job lines would lack our context
    except (redis.ConnectionError, redis.TimeoutError) as error:
        # Stopped while Redis was away: RQ's own goodbye (its worker record) cannot be written.
        log.warning("worker %s stopped without Redis (%s)", os.getpid(), error)
        sys.exit(EXIT_REDIS_GONE)
    finally:
        stop.set()


def _spawn(redis_url: str) -> subprocess.Popen:
    return start_child([sys.executable, "-m", "server", "worker", "-n", "1"],
                       env=dict(os.environ, REDIS_URL=redis_url), stdin=subprocess.DEVNULL)


def run_workers(redis_url: str, count: int) -> None:
    """Block running `count` worker processes until SIGTERM, SIGINT or SIGHUP; then each
    finishes the image it is making (kept, not paid twice) and exits."""
    if count == 1:
        run_one_worker(redis_url)
        return
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, lambda *_: stop.set())
    children = [_spawn(redis_url) for _ in range(count)]
    try:
        while not stop.wait(SUPERVISE_EVERY_SECONDS):
            for position, child in enumerate(children):
                if child.poll() is not None:
                    log.warning("worker %s exited (%s); starting another", child.pid,
                                child.returncode)
                    children[position] = _spawn(redis_url)
    finally:
        stop_children(children, Settings.from_env().stop_grace_seconds)
