"""Background duties shared by all worker processes, done by one of them at a time: take back
images of dead workers, flush sheet write-back, settle budgets of finished batches (and mail
their owners when SMTP is configured), delete the row anchors of finished sheet batches, and
delete batches past the retention period."""
from __future__ import annotations

import logging
import threading
import time

import redis

from server.batches import keys
from server.batches.lifecycle import delete_expired
from server.services import Services

log = logging.getLogger(__name__)

TICK_SECONDS = 0.5
REAP_EVERY_SECONDS = 5.0
SETTLE_EVERY_SECONDS = 1.0
RETENTION_EVERY_SECONDS = 600.0
ANCHORS_EVERY_SECONDS = 5.0
REDIS_BACKOFF_MAX_SECONDS = 60.0


class Housekeeper:
    def __init__(self, services: Services):
        self.services = services
        self.redis = services.redis
        self._last_reap = 0.0

    def tick(self, now: float) -> None:
        if now - self._last_reap >= REAP_EVERY_SECONDS and self._turn("reap", REAP_EVERY_SECONDS):
            self._last_reap = now
            self.services.batches.reap()
        if self._turn("settle", SETTLE_EVERY_SECONDS):
            self.settle_finished()
        if self._turn("retention", RETENTION_EVERY_SECONDS):
            services = self.services
            delete_expired(services.batches, services.launcher, services.settings)
        self.services.writeback.flush_due()
        if self._turn("anchors", ANCHORS_EVERY_SECONDS):
            self.services.writeback.clear_due_anchors()

    def _turn(self, duty: str, seconds: float) -> bool:
        return bool(self.redis.set(keys.duty(duty), 1, nx=True, px=int(seconds * 1000)))

    def settle_finished(self) -> None:
        batches = self.services.batches
        for raw in self.redis.smembers(keys.BUDGETED_BATCHES):
            batch_id = raw.decode()
            status = batches.status(batch_id)
            if status.finished:
                self.services.launcher.settle(batch_id)
                if self.redis.srem(keys.BUDGETED_BATCHES, batch_id):
                    self.services.notices.batch_finished(status)
                # One last write of every row, in case a flush was lost with a crashed process.
                batches.mark_dirty(batch_id, status.rows)
                if status.batch.is_sheet:
                    self.services.writeback.register(batch_id)

    def run(self, stop: threading.Event) -> None:
        wait = TICK_SECONDS
        while not stop.wait(wait):
            try:
                self.tick(time.monotonic())
                wait = TICK_SECONDS
            except (redis.ConnectionError, redis.TimeoutError) as error:
                # One line per back-off step while Redis is away, not a traceback per tick.
                wait = min(REDIS_BACKOFF_MAX_SECONDS, max(1.0, wait * 2))
                log.warning("housekeeping: Redis is not answering (%s); trying again in %.0f s",
                            error, wait)
            except Exception:  # housekeeping must outlive a Sheets hiccup or a bad record
                log.exception("housekeeping pass failed")
