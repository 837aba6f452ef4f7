"""The RQ worker sheetbatch runs: jobs in the worker process itself (a fork per image cost more
than the image call on small machines, and the claim lease already covers a worker killed
mid-job), serving the active batches of the provider accounts it holds in turn, and stopping
after the current image without touching Redis from a signal handler."""
from __future__ import annotations

import logging
import signal
import time

import redis
from rq import Queue, SimpleWorker
from rq.exceptions import StopRequested
from rq.utils import now

from server.batches.queue import SHARED_QUEUE, BatchQueue
from workers.housekeeping import REDIS_BACKOFF_MAX_SECONDS

# A worker looks for newly started batches this often while it has nothing to do (and
# heartbeats each time); RQ forgets one silent for WORKER_TTL + 60 s, so /api/ready notices a
# dead machine within about a minute and a half.
REFRESH_SECONDS = 1
WORKER_TTL = 30

log = logging.getLogger(__name__)


class BatchWorker(SimpleWorker):
    def __init__(self, connection, accounts: list[str], batch_queue: BatchQueue, name: str):
        super().__init__([Queue(SHARED_QUEUE, connection=connection)], connection=connection,
                         worker_ttl=WORKER_TTL, name=name)
        self.accounts = accounts
        self.batch_queue = batch_queue
        self._last_served = ""
        self._busy = False

    def dequeue_job_and_maintain_ttl(self, timeout, max_idle_time=None):
        """The next job, from the batch queues in turn: a small batch started during a big one
        is served alongside it, not after it."""
        wait = 0.0
        while not self._stop_requested:
            try:
                self._ordered_queues = self._queues_in_turn()
                result = super().dequeue_job_and_maintain_ttl(REFRESH_SECONDS, REFRESH_SECONDS)
            except (redis.ConnectionError, redis.TimeoutError) as error:
                # Redis is away. RQ's heartbeat would end the worker with a traceback (and its
                # supervisor start another, which fails the same way): wait for Redis instead,
                # saying so once per back-off step. A stop signal ends the wait (request_stop).
                wait = min(REDIS_BACKOFF_MAX_SECONDS, max(1.0, wait * 2))
                log.warning("worker %s: Redis is not answering (%s); trying again in %.0f s",
                            self.name, error, wait)
                time.sleep(wait)
                continue
            wait = 0.0
            if result is not None:
                self._last_served = result[1].name
                return result
        return None

    def _queues_in_turn(self) -> list[Queue]:
        names = self.batch_queue.active(self.accounts)
        turn = ([name for name in names if name > self._last_served]
                + [name for name in names if name <= self._last_served] + [SHARED_QUEUE])
        return [Queue(name, connection=self.connection) for name in turn]

    def execute_job(self, job, queue):
        self._busy = True
        try:
            return super().execute_job(job, queue)
        finally:
            self._busy = False

    def subscribe(self):
        """No pub/sub thread. RQ listens for its worker commands (shutdown, kill horse, stop job)
        on a thread that blocks up to 60 s in one read, and joins it on shutdown: with redis-py
        8.2.0 that join has no timeout, so a SIGTERM could take a minute. We send none of those
        commands (a batch stops through its own control state, a worker through signals), so the
        thread is not started at all, whatever the library versions do."""

    def unsubscribe(self):
        """Nothing to stop: see `subscribe`."""

    def request_stop(self, signum, frame):
        # RQ's own handler reads and writes Redis from inside the signal handler, that is from
        # inside whatever the job is doing — an HTTP call to a paid API. If Redis is gone that
        # raises there and throws a paid image away. Note the request; the loop ends after it.
        self._shutdown_requested_date = now()
        signal.signal(signal.SIGINT, self.request_force_stop)
        signal.signal(signal.SIGTERM, self.request_force_stop)
        self._stop_requested = True
        if not self._busy:
            raise StopRequested()
