"""Background duties shared by all worker processes, done by one of them at a time: take back
images of dead workers, flush sheet write-back, and settle budgets of finished batches."""
from __future__ import annotations

import logging
import threading
import time

import redis

from server.batches import Batches
from server.budget import Budgets
from server.config import Settings
from server.links import Signer, load_secret
from server.pricing import PriceTable
from server.providers import is_free
from server.writeback import WriteBack

log = logging.getLogger(__name__)

TICK_SECONDS = 0.5
REAP_EVERY_SECONDS = 5.0
SETTLE_EVERY_SECONDS = 1.0
BUDGETED = "sb:budgeted"


def images_cost(batches: Batches, prices: PriceTable, batch_id: str,
                states: tuple[str, ...]) -> float:
    """What the batch's images in these states cost, one image each (nothing when free)."""
    if is_free(batches.fields(batch_id)["provider"]):
        return 0.0
    requests = batches.requests(batch_id)
    return prices.total({"model": requests[row].model, "rendering": requests[row].rendering,
                         "num_images": 1}
                        for (row, _), state in batches.states(batch_id).items() if state in states)


def batch_cost(batches: Batches, prices: PriceTable, batch_id: str) -> float:
    """What the images made so far cost."""
    return images_cost(batches, prices, batch_id, ("done",))


class Housekeeper:
    def __init__(self, connection: redis.Redis, settings: Settings):
        self.redis = connection
        self.batches = Batches(connection)
        self.prices = PriceTable.load()
        self.budgets = Budgets(connection, settings.monthly_budget, self.prices.currency)
        signer = Signer(load_secret(settings.secret_key, settings.data_dir))
        self.writeback = WriteBack(self.batches, settings, signer)
        self._last_reap = 0.0

    def tick(self, now: float) -> None:
        if now - self._last_reap >= REAP_EVERY_SECONDS and self._turn("reap", REAP_EVERY_SECONDS):
            self._last_reap = now
            self.batches.reap()
        if self._turn("settle", SETTLE_EVERY_SECONDS):
            self.settle_finished()
        self.writeback.flush_due()

    def _turn(self, duty: str, seconds: float) -> bool:
        return bool(self.redis.set(f"sb:duty:{duty}", 1, nx=True, px=int(seconds * 1000)))

    def settle_finished(self) -> None:
        for raw in self.redis.smembers(BUDGETED):
            batch_id = raw.decode()
            status = self.batches.status(batch_id)
            if status.finished:
                self.budgets.settle(Batches.key(batch_id),
                                    batch_cost(self.batches, self.prices, batch_id))
                self.redis.srem(BUDGETED, batch_id)
                # One last write of every row, in case a flush was lost with a crashed process.
                self.batches.mark_dirty(batch_id, status.rows)
                if status.fields.get("kind") == "sheet":
                    self.writeback.register(batch_id)

    def run(self, stop: threading.Event) -> None:
        while not stop.wait(TICK_SECONDS):
            try:
                self.tick(time.monotonic())
            except Exception:  # housekeeping must outlive a Redis or Sheets hiccup
                log.exception("housekeeping pass failed")
