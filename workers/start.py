"""Worker start-up: RQ workers for our queue, plus the reaper that takes back the images of
workers that died mid-job (RQ itself would notice only after many minutes)."""
from __future__ import annotations

import logging
import threading

from rq import Queue, Worker
from rq.worker_pool import WorkerPool

from server.batches import LEASE_SECONDS, QUEUE_NAME, Batches
from server.redis_server import connect

REAP_EVERY_SECONDS = LEASE_SECONDS / 3

log = logging.getLogger(__name__)


def reap_forever(redis_url: str, stop: threading.Event) -> None:
    batches = Batches(connect(redis_url))
    while not stop.wait(REAP_EVERY_SECONDS):
        try:
            taken_back = batches.reap()
            if taken_back:
                log.warning("queued %d image(s) again after a worker stopped", taken_back)
        except Exception:  # the reaper must outlive a Redis hiccup
            log.exception("reaper pass failed")


def run_workers(redis_url: str, count: int) -> None:
    """Block running `count` worker processes (and the reaper) until interrupted."""
    stop = threading.Event()
    threading.Thread(target=reap_forever, args=(redis_url, stop), daemon=True).start()
    connection = connect(redis_url)
    try:
        if count == 1:
            Worker([Queue(QUEUE_NAME, connection=connection)], connection=connection).work(
                with_scheduler=False, logging_level="WARNING")
        else:
            WorkerPool([QUEUE_NAME], connection=connection, num_workers=count).start(
                logging_level="WARNING")
    finally:
        stop.set()
